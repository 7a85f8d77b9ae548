#!/usr/bin/env bash
# Rebuilds tcp_events.bpf.o from tcp_events.bpf.c with Debian's clang (packages clang, llvm,
# libbpf-dev). The object is committed, so that `cargo build` needs no C toolchain; .ci/run
# rebuilds it and fails when the committed one differs. `--check` only compares.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
clang="${CLANG:-clang}"
strip="${LLVM_STRIP:-llvm-strip}"
out="$here/tcp_events.bpf.o"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# -fdebug-prefix-map and a fixed file name keep the object the same wherever it is built.
(cd "$here" && "$clang" -O2 -g -target bpf -D__TARGET_ARCH_x86 \
  -I/usr/include/x86_64-linux-gnu \
  -fdebug-prefix-map="$here"=. \
  -c tcp_events.bpf.c -o "$tmp/tcp_events.bpf.o")
"$strip" -g "$tmp/tcp_events.bpf.o"
if [ "${1:-}" = "--check" ]; then
  if cmp -s "$tmp/tcp_events.bpf.o" "$out"; then
    echo "tcp_events.bpf.o is up to date"
  else
    echo "tcp_events.bpf.o is stale: run assets/bpf/build.sh and commit the object" >&2
    exit 1
  fi
else
  cp "$tmp/tcp_events.bpf.o" "$out"
  echo "built $out ($(stat -c %s "$out") bytes)"
fi
