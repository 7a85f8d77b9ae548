//! The layer order written in ARCHITECTURE.md, checked against the code: every `crate::`,
//! `super::` and `self::` path in `src/` is resolved to the module it names; a module may use
//! modules of the layers below its own, never one above nor a peer of its own layer, and the
//! files of one module do not use each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// ARCHITECTURE.md's ```layers block: top layer first, peers on one line.
fn layers() -> BTreeMap<String, usize> {
    let text = include_str!("../../ARCHITECTURE.md");
    let block = text
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md: a ```layers block");
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut rank = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        for module in line.split_whitespace() {
            // The bottom line has rank 0.
            rank.insert(module.to_string(), lines.len() - 1 - i);
        }
    }
    rank
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/sources/trace/ring.rs` → [sources, trace, ring];
/// `src/sources/trace/mod.rs` → [sources, trace].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (docs name modules they do not use).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path the code names from `crate`, `super` or `self`, resolved to an absolute module
/// path (its first segments; the rest may be items).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let at_word = i == 0 || !ident(bytes[i - 1]);
        let rest = &code[i..];
        let root = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|r| at_word && rest.starts_with(r));
        let Some(root) = root else {
            i += 1;
            continue;
        };
        // Read `a::b::c` and, for a `{…}` group, its first names.
        let mut segments = vec![root.trim_end_matches("::").to_string()];
        let mut j = i + root.len();
        let mut groups = Vec::new();
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if j > start {
                segments.push(code[start..j].to_string());
            }
            if code[j..].starts_with("::{") {
                let end = code[j..].find('}').map_or(code.len(), |e| j + e);
                for name in code[j + 3..end].split(',') {
                    let first = name.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() && first.bytes().all(ident) {
                        groups.push(first.to_string());
                    }
                }
                j = end;
                break;
            }
            if code[j..].starts_with("::") {
                j += 2;
            } else {
                break;
            }
        }
        i = j.max(i + 1);
        let mut base: Vec<String> = Vec::new();
        let mut segs = segments.into_iter().peekable();
        match segs.next().as_deref() {
            Some("crate") => {}
            Some("self") => base = module.to_vec(),
            _ => {
                // `super`: the parent (of `trace/mod.rs` as of `trace.rs`).
                base = module.to_vec();
                base.pop();
                while segs.peek().is_some_and(|s| s == "super") {
                    segs.next();
                    base.pop();
                }
            }
        }
        base.extend(segs);
        if groups.is_empty() {
            found.push(base);
        } else {
            for g in groups {
                let mut p = base.clone();
                p.push(g);
                found.push(p);
            }
        }
    }
    found
}

struct Use {
    file: String,
    from: Vec<String>,
    to: Vec<String>,
}

fn uses() -> Vec<Use> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut all = Vec::new();
    for file in files {
        let module = module_of(&src, &file);
        if module.is_empty() || module == ["lib"] || module == ["main"] {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        // A file's inline test module is one level down: its `super` is the file.
        let (body, tests) = code.split_once("mod tests {").unwrap_or((&code, ""));
        let mut test_module = module.clone();
        test_module.push("tests".into());
        let found = paths_in(body, &module)
            .into_iter()
            .chain(paths_in(tests, &test_module));
        for to in found {
            if to.is_empty() {
                continue;
            }
            all.push(Use {
                file: file.strip_prefix(&src).unwrap().display().to_string(),
                from: module.clone(),
                to,
            });
        }
    }
    all
}

#[test]
fn no_module_uses_a_layer_above_its_own_or_a_peer() {
    let _host = crate::common::host::shared();
    let rank = layers();
    let mut wrong = BTreeSet::new();
    for u in uses() {
        let (from, to) = (&u.from[0], &u.to[0]);
        if from == to {
            continue;
        }
        let (Some(&a), Some(&b)) = (rank.get(from), rank.get(to)) else {
            panic!(
                "{}: `{from}` or `{to}` is in no layer of ARCHITECTURE.md",
                u.file
            );
        };
        if b >= a {
            let how = if b == a { "its peer" } else { "a layer above" };
            wrong.insert(format!("{}: {from} uses {how} {}", u.file, u.to.join("::")));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against ARCHITECTURE.md's layers:\n{}",
        wrong.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_top_module_is_in_a_layer() {
    let _host = crate::common::host::shared();
    let rank = layers();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        assert!(
            rank.contains_key(&name),
            "src/{name}: in no layer of ARCHITECTURE.md"
        );
    }
}

/// Within a module, its child modules (files or folders) form no circle.
#[test]
fn no_circle_among_a_modules_files() {
    let _host = crate::common::host::shared();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // (top module, child) → children it uses.
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for u in uses() {
        if u.from.len() < 2 || u.to.len() < 2 || u.from[0] != u.to[0] {
            continue;
        }
        let (top, a, b) = (&u.from[0], &u.from[1], &u.to[1]);
        let child = |name: &str| {
            let dir = src.join(top);
            dir.join(format!("{name}.rs")).exists() || dir.join(name).is_dir()
        };
        if a != b && child(b) {
            edges
                .entry((top.clone(), a.clone()))
                .or_default()
                .insert(b.clone());
        }
    }
    let mut circles = Vec::new();
    for (top, start) in edges.keys() {
        // Depth-first from `start`: a way back to it is a circle.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&(top.clone(), at.clone())).into_iter().flatten() {
                if next == start {
                    circles.push(format!("{top}: {} → {start}", path.join(" → ")));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// The pure layers touch no file, process, socket or clock of their own.
#[test]
fn the_pure_layers_do_no_io() {
    let _host = crate::common::host::shared();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let io = [
        "std::fs",
        "std::process",
        "std::net::TcpStream",
        "std::net::TcpListener",
        "std::io::stdin",
        "std::io::stdout",
        "rustix::",
        "socket2::",
        "procfs::",
        "Instant::now",
        "SystemTime::now",
    ];
    let mut found = Vec::new();
    for layer in ["model", "tracker", "app", "ui"] {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        for file in files {
            let code = code_of(&std::fs::read_to_string(&file).unwrap());
            let (body, _tests) = code.split_once("mod tests {").unwrap_or((&code, ""));
            for what in io.iter().filter(|w| body.contains(*w)) {
                found.push(format!(
                    "{}: {what}",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "I/O in a pure layer:\n{}",
        found.join("\n")
    );
}

/// Every test of this binary holds the host (`common::host`) from its first line: one that
/// did not would run beside the tests that need the host to themselves.
#[test]
fn every_test_holds_the_host() {
    let _host = crate::common::host::shared();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut missing = Vec::new();
    let mut tests = 0;
    for file in files.iter().filter(|f| !f.starts_with(root.join("common"))) {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, _) in lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == "#[test]")
        {
            tests += 1;
            // The line after the one that opens the function's body.
            let body = lines[i..]
                .iter()
                .position(|l| l.trim_end().ends_with('{'))
                .map(|open| i + open + 1);
            let first = body.and_then(|b| lines.get(b)).copied().unwrap_or("");
            if !first.contains("crate::common::host::") {
                missing.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(tests > 100, "found only {tests} tests");
    assert!(
        missing.is_empty(),
        "tests that do not hold the host first (`let _host = crate::common::host::shared();`):\n{}",
        missing.join("\n")
    );
}
