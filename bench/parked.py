#!/usr/bin/env python3
"""Parked clients: 1,000 clients stop at one stage of a connection and wait (or half-close);
what they cost the gateway, side by side with nginx and, with --baseline, an earlier build.

Stages: a TLS handshake cut short, the plain listener's protocol sniff (half an HTTP/2
preface, waiting and half-closed), half an HTTP/1 head, HTTP/2 frames cut short, half a
request body, an answer the client does not read, and an idle WebSocket tunnel. For each, the
table gives the CPU the proxy used over the measuring window (seconds of CPU per second), its
resident memory with the clients parked (and the growth over its idle size), how many of the
clients it still held at the end of the window, and how long after the clients closed it took
to hold none (from the gateway's open-connections gauge; nginx has none). A half-closed
client should be let go at once (held 0).

Usage: bench/parked.py [--clients 1000] [--window 5] [--baseline BINARY]
Needs nginx (installed by bench/run.py's helper when missing and running as root) and openssl.
"""
import argparse
import os
import resource
import socket
import subprocess
import threading
import time
import urllib.request

import run  # bench/run.py: tools, nginx, gateway build, helpers
from sessions import wait_port

PORTS = {"upstream": 18181, "ws": 18182, "nginx": 18183, "nginx_tls": 18184,
         "gateway": 18185, "gateway_tls": 18186, "admin": 18187,
         "baseline": 18188, "baseline_tls": 18189, "baseline_admin": 18190}
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind, flags, stream, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


# What each stage's client sends before it stops, and whether it half-closes then. `None`:
# the stage needs a conversation of its own (see park()).
STAGES = [
    ("tls handshake", "tls", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x07" * 11, False),
    ("sniff: half a preface", "plain", H2_PREFACE[:16], False),
    ("sniff: half a preface, half-closed", "plain", H2_PREFACE[:16], True),
    ("http/1 head", "plain", b"GET /index.html HTTP/1.1\r\nHost: bench\r\nX-Slow: ", False),
    ("http/1 head, half-closed", "plain", b"GET /index.html HTTP/1.1\r\nHost: bench\r\nX-Slow: ", True),
    ("http/2 frames", "h2", H2_PREFACE + h2_frame(4, 0, 0, b"") + b"\x00\x00\x28\x01", False),
    ("request body", "plain",
     b"POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000\r\n\r\nten bytes.", False),
    ("answer not read", "plain", b"GET /big.bin HTTP/1.1\r\nHost: bench\r\n\r\n", False),
    ("websocket tunnel", "ws",
     b"GET /ws HTTP/1.1\r\nHost: ws\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
     b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", False),
]


def ws_upstream(port):
    """An app that accepts every WebSocket handshake and then holds the tunnel open, silent."""
    server = socket.create_server(("127.0.0.1", port), backlog=4096, reuse_port=True)
    held = []

    def serve():
        while True:
            conn, _ = server.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(4096)
                if not more:
                    break
                data += more
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return held


def cpu_seconds(pids):
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pids):
    return sum(run.rss_kib(pid, "VmRSS") for pid in pids)


def open_connections(admin):
    if admin is None:
        return None
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("mfa_gateway_open_connections "):
                return float(line.split()[1])
    return None


def park(port, first, half_close, count):
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(first)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        socks.append(s)
    return socks


def measure(target, stage, args):
    name, kind, first, half_close = stage
    port = target["ports"].get(kind)
    if port is None:
        return None
    pids = target["pids"]()
    idle_rss = rss_kib(pids)
    socks = park(port, first, half_close, args.clients)
    time.sleep(1)
    before = cpu_seconds(pids)
    time.sleep(args.window)
    cpu = (cpu_seconds(pids) - before) / args.window
    rss = rss_kib(pids)
    held = open_connections(target["admin"])
    closed_at = time.monotonic()
    for s in socks:
        s.close()
    back = None
    if target["admin"] is not None:
        while time.monotonic() - closed_at < 60:
            if open_connections(target["admin"]) == 0:
                back = time.monotonic() - closed_at
                break
            time.sleep(0.02)
    time.sleep(0.5)
    return {"cpu": cpu, "rss": rss, "growth": rss - idle_rss, "held": held, "back": back}


def gateway_config(work, name, port, tls_port, admin):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"""listeners:
  - address: "127.0.0.1:{port}"
  - address: "127.0.0.1:{tls_port}"
    tls:
      certificates:
        - cert_file: {work}/cert.pem
          key_file: {work}/key.pem
admin:
  address: "127.0.0.1:{admin}"
data_dir: "{work}/{name}-data"
logging:
  level: warn
  access_log: false
apps:
  - name: ws
    hosts: ["ws"]
    upstream:
      url: "http://127.0.0.1:{PORTS['ws']}"
  - name: bench
    hosts: ["*"]
    upstream:
      url: "http://127.0.0.1:{PORTS['upstream']}"
""")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--baseline", help="another mfa-gateway binary, measured the same way")
    args = ap.parse_args()

    run.ensure_tools()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    binary = run.build_gateway()
    work = run.work_dir("mfa-parked-")
    os.makedirs(os.path.join(work, "www"))
    with open(os.path.join(work, "www", "index.html"), "w") as f:
        f.write("x" * 512)
    with open(os.path.join(work, "www", "big.bin"), "wb") as f:
        f.write(b"x" * (64 * 1024 * 1024))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bench",
                    "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem"], check=True, capture_output=True)
    os.chmod(f"{work}/key.pem", 0o644)
    held_ws = ws_upstream(PORTS["ws"])
    procs = []
    try:
        # /upload reads the whole request body before it answers (nginx buffers it for the
        # proxy_pass), so that half a body keeps the request waiting at every proxy on the way.
        procs.append(run.start_nginx(work, "upstream", f"""access_log off;
  server {{
    listen 127.0.0.1:{PORTS['upstream']} reuseport;
    location / {{ root {work}/www; }}
    location = /upload {{ proxy_pass http://127.0.0.1:{PORTS['upstream']}/index.html; proxy_method GET; }}
  }}"""))
        nginx = run.start_nginx(work, "nginx", f"""access_log off;
  upstream app {{ server 127.0.0.1:{PORTS['upstream']}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{PORTS['nginx']} reuseport;
    listen 127.0.0.1:{PORTS['nginx_tls']} ssl reuseport;
    ssl_certificate {work}/cert.pem;
    ssl_certificate_key {work}/key.pem;
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}""")
        procs.append(nginx)
        targets = [{"name": "nginx", "ports": {"plain": PORTS["nginx"], "tls": PORTS["nginx_tls"]},
                    "admin": None,
                    "pids": lambda: [nginx.pid] + [int(p) for p in run.sh("pgrep", "-P", str(nginx.pid)).split()]}]
        gateways = [("gateway", binary)] + ([("baseline", args.baseline)] if args.baseline else [])
        for name, path in gateways:
            config = gateway_config(work, name, PORTS[name], PORTS[f"{name}_tls"], PORTS["admin" if name == "gateway" else "baseline_admin"])
            proc = run.start_gateway(path, config, os.path.join(work, f"{name}.log"))
            procs.append(proc)
            targets.append({"name": name, "ports": {"plain": PORTS[name], "tls": PORTS[f"{name}_tls"],
                                                     "h2": PORTS[name], "ws": PORTS[name]},
                            "admin": PORTS["admin" if name == "gateway" else "baseline_admin"],
                            "pids": (lambda p: lambda: [p.pid])(proc)})
        for port in [PORTS["upstream"], PORTS["nginx"]] + [t["ports"]["plain"] for t in targets[1:]]:
            wait_port(port)
        print(f"{args.clients} clients parked per stage, CPU over {args.window:g} s")
        print(f"{'stage':38} {'proxy':9} {'CPU s/s':>8} {'RSS MiB':>8} {'+MiB':>6} {'held':>6} {'freed in':>9}")
        for stage in STAGES:
            for target in targets:
                got = measure(target, stage, args)
                if got is None:
                    continue
                held = "-" if got["held"] is None else f"{got['held']:.0f}"
                back = "-" if got["back"] is None else f"{got['back']:.2f} s"
                if target["admin"] is not None and got["back"] is None:
                    back = "> 60 s"
                print(f"{stage[0]:38} {target['name']:9} {got['cpu']:8.3f} {got['rss'] / 1024:8.1f} "
                      f"{got['growth'] / 1024:6.1f} {held:>6} {back:>9}", flush=True)
            for conn in held_ws:
                conn.close()
            held_ws.clear()
    finally:
        run.stop_all(procs)


if __name__ == "__main__":
    main()
