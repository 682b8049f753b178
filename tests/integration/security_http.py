#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile HTTP clients for the security suite (tests/integration/security_*.sh).

Raw bytes over sockets, loopback only, every loop bounded in count and time.

  security_http.py smuggle PORT PATH      framing attacks, each printed as
                                          NAME=STATUS/OTHER_RESPONSES/closed|open:
                                          a safe server says 400/0/closed
  security_http.py slow PORT              one connection trickling a header a
                                          byte a second: seconds until closed
  security_http.py per-addr PORT N        N connections from one address:
                                          how many the server keeps
  security_http.py flood PORT N SECONDS PATH
                                          N slow connections from 127.0.0.2..
                                          127.0.0.200, kept at N for SECONDS,
                                          while a normal client on 127.0.0.1
                                          asks PATH every 0.25 s
Each prints one line of results (key=value) and exits 0; the shell script
decides what passes.
"""
import resource
import selectors
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def read_all(s, limit_s):
    """Everything the server sends until it closes, or limit_s passes."""
    s.settimeout(0.2)
    data = b""
    closed = False
    end = time.monotonic() + limit_s
    while time.monotonic() < end and len(data) < 1 << 20:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    return data, closed


def smuggle(port, path):
    hidden = b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
    cases = {
        "two-content-lengths": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
        b"Content-Length: " + str(len(hidden)).encode() + b"\r\n\r\n" + hidden,
        "te-and-cl": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 5\r\n\r\n0\r\n\r\n" + hidden,
        "cl-and-te": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
        "unknown-coding": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
        + hidden,
        "two-codings": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
        "signed-length": b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nContent-Length: +0\r\n\r\n"
        + hidden,
    }
    out = []
    for name, raw in cases.items():
        s = socket.create_connection((HOST, port), timeout=2)
        s.sendall(raw)
        data, closed = read_all(s, 3.0)
        s.close()
        # libmicrohttpd repeats the head of its own 400 for a bad length: count the others
        others = data.count(b"HTTP/1.") - data.count(b"HTTP/1.1 400 ")
        status = data[9:12].decode("ascii", "replace") if data.startswith(b"HTTP/1.") else "none"
        out.append("%s=%s/%d/%s" % (name, status, others, "closed" if closed else "open"))
    print(" ".join(out))


def slow(port):
    s = socket.create_connection((HOST, port), timeout=2)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
    start = time.monotonic()
    s.settimeout(1.0)
    while time.monotonic() - start < 25:
        try:
            s.sendall(b"X")
            if s.recv(1) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    print("closed_after=%d" % round(time.monotonic() - start))


def per_addr(port, n):
    raise_nofile(n + 100)
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.250", 0))
        s.settimeout(2)
        try:
            s.connect((HOST, port))
            s.sendall(b"GET / HTTP/1.1\r\n")
        except OSError:
            pass
        socks.append(s)
    time.sleep(1.5)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    print("kept=%d of=%d" % (alive, n))


def normal_client(port, path, stop, results):
    req = b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    while not stop.is_set():
        t0 = time.monotonic()
        status = "none"
        try:
            s = socket.create_connection((HOST, port), timeout=5, source_address=(HOST, 0))
            s.sendall(req)
            data, _ = read_all(s, 5.0)
            s.close()
            if data.startswith(b"HTTP/1."):
                status = data[9:12].decode("ascii", "replace")
        except OSError:
            pass
        results.append((status, time.monotonic() - t0))
        stop.wait(0.25)


def flood(port, n, seconds, path):
    raise_nofile(n + 1000)
    sel = selectors.DefaultSelector()
    addrs = ["127.0.0.%d" % i for i in range(2, 201)]
    opened = [0]
    held_samples = []

    def open_one():
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((addrs[opened[0] % len(addrs)], 0))
            s.connect_ex((HOST, port))
        except OSError:
            s.close()
            return
        opened[0] += 1
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, [False])

    for _ in range(n):
        open_one()
    stop = threading.Event()
    results = []
    client = threading.Thread(target=normal_client, args=(port, path, stop, results))
    start = time.monotonic()
    last_trickle = start
    client_started = False
    while time.monotonic() - start < seconds:
        for key, mask in sel.select(timeout=0.2):
            s, state = key.fileobj, key.data
            closed = False
            if mask & selectors.EVENT_READ:
                try:
                    closed = s.recv(4096) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if not closed and mask & selectors.EVENT_WRITE and not state[0]:
                try:
                    s.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
                    state[0] = True
                    sel.modify(s, selectors.EVENT_READ, state)
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if closed:
                sel.unregister(s)
                s.close()
        now = time.monotonic()
        if now - last_trickle >= 1.0:  # a byte a second on each: never idle
            last_trickle = now
            for key in list(sel.get_map().values()):
                if key.data[0]:
                    try:
                        key.fileobj.send(b"X")
                    except OSError:
                        pass
        while len(sel.get_map()) < n and time.monotonic() - start < seconds:
            open_one()  # the attacker keeps n open, whatever the server closes
            if opened[0] % 500 == 0:
                break
        ready = sum(1 for k in sel.get_map().values() if k.data[0])
        held_samples.append(ready)
        if not client_started and (ready >= n * 9 // 10 or now - start > 4):
            client_started = True
            client.start()
    stop.set()
    if client_started:
        client.join()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    lat = sorted(r[1] for r in results)
    good = sum(1 for r in results if r[0] in ("200", "401"))
    p50 = lat[len(lat) // 2] if lat else -1.0
    mx = lat[-1] if lat else -1.0
    held = sorted(held_samples)
    print("slow_held_p10=%d slow_held_median=%d opened=%d requests=%d served=%d p50_ms=%.1f "
          "max_ms=%.1f"
          % (held[len(held) // 10] if held else 0, held[len(held) // 2] if held else 0,
             opened[0], len(results), good, p50 * 1000, mx * 1000))


def main():
    cmd = sys.argv[1]
    port = int(sys.argv[2])
    if cmd == "smuggle":
        smuggle(port, sys.argv[3].encode())
    elif cmd == "slow":
        slow(port)
    elif cmd == "per-addr":
        per_addr(port, int(sys.argv[3]))
    elif cmd == "flood":
        flood(port, int(sys.argv[3]), float(sys.argv[4]), sys.argv[5].encode())
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
