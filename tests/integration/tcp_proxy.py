#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/integration/tcp_proxy.py: two small loopback TCP helpers for the
privacy tests, each writing one line per connection to LOG (flushed):

  connect PORT_FILE LOG          an HTTP CONNECT proxy (what `agepass
                                 --proxy http://...` talks to): logs
                                 "CONNECT host:port", relays the tunnel;
                                 only loopback targets are allowed.
  relay PORT_FILE LOG TARGET     a plain relay to 127.0.0.1:TARGET that logs
                                 "conn METHOD PATH" (the request line only,
                                 never a header): counts what reaches a server.

It listens on a free loopback port, written to PORT_FILE once listening.
Each connection lives at most 30 s; the process at most 300 s.
"""
import socket
import sys
import threading
import time

LIFE_S = 300
CONN_S = 30


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def log_line(log, lock, text):
    with lock:
        log.write(text + "\n")
        log.flush()


def read_head(c):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        data = c.recv(4096)
        if not data:
            break
        head += data
    return head


def serve(c, mode, log, lock, target):
    c.settimeout(CONN_S)
    try:
        if mode == "connect":
            head = read_head(c)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                log_line(log, lock, "refused " + (parts[0] if parts else "-"))
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = parts[1].rpartition(":")
            if host not in ("127.0.0.1", "localhost", "[::1]"):
                log_line(log, lock, "refused " + parts[1])
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            u = socket.create_connection(("127.0.0.1", int(port)), timeout=CONN_S)
            log_line(log, lock, "CONNECT " + parts[1])
            c.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
            if rest:
                u.sendall(rest)
        else:
            u = socket.create_connection(("127.0.0.1", target), timeout=CONN_S)
            first = c.recv(65536)
            line = first.split(b"\r\n", 1)[0].decode("latin-1").split()
            log_line(log, lock, "conn " + " ".join(line[:2]))
            u.sendall(first)
        u.settimeout(CONN_S)
        t = threading.Thread(target=pipe, args=(u, c), daemon=True)
        t.start()
        pipe(c, u)
        t.join(CONN_S)
    except OSError:
        pass
    finally:
        c.close()


def main():
    mode, port_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
    target = int(sys.argv[4]) if mode == "relay" else 0
    if mode not in ("connect", "relay"):
        sys.exit(2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    s.settimeout(1)
    log = open(log_path, "a")
    lock = threading.Lock()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    end = time.monotonic() + LIFE_S
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c, mode, log, lock, target), daemon=True).start()


if __name__ == "__main__":
    main()
