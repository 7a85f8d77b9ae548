#!/usr/bin/env python3
"""Captures the seeds of tests/integration/fuzz.rs from this kernel (run as root, in a fresh network
namespace: `ip netns add s && ip netns exec s sh -c 'ip link set lo up; python3 capture.py'`):
/proc/net/tcp{,6} and a raw sock_diag dump of each family, with a listener, an established
pair, a TIME_WAIT and a FIN_WAIT2 in them."""
import socket, struct, time, shutil

def pair(family, host):
    l = socket.socket(family); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, 0)); l.listen(8)
    c = socket.socket(family); c.connect(l.getsockname()[:2]); s, _ = l.accept()
    return l, c, s

keep = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    l, c, s = pair(fam, host); keep += [l, c, s]           # LISTEN, ESTABLISHED x2
    _, c2, s2 = pair(fam, host); s2.close(); c2.recv(1); c2.close()  # server TIME_WAIT
    _, c3, s3 = pair(fam, host); c3.shutdown(socket.SHUT_WR); keep += [c3, s3]  # FIN_WAIT2
    keep.append(_)
time.sleep(0.2)
shutil.copy("/proc/net/tcp", "proc_net_tcp.txt")
shutil.copy("/proc/net/tcp6", "proc_net_tcp6.txt")

def dump(family, path):
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    # inet_diag_req_v2: family, protocol, ext (1 << (INET_DIAG_INFO - 1)), pad, states, id
    req = struct.pack("=BBBBI", family, 6, 1 << 1, 0, 0xfff) + bytes(48)
    hdr = struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0)
    nl.send(hdr + req)
    out = b""
    while True:
        chunk = nl.recv(65536)
        out += chunk
        if struct.unpack_from("=H", chunk, 4)[0] in (2, 3) and len(chunk) <= 20 + 16:
            break
        # The last message of the dump is NLMSG_DONE.
        off, done = 0, False
        while off + 16 <= len(chunk):
            ln, typ = struct.unpack_from("=IH", chunk, off)
            if typ == 3:
                done = True
            off += (ln + 3) & ~3 if ln else len(chunk)
        if done:
            break
    open(path, "wb").write(out)

dump(socket.AF_INET, "sock_diag_inet.bin")
dump(socket.AF_INET6, "sock_diag_inet6.bin")
print("captured")
