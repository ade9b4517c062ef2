#!/usr/bin/env python3
"""Side-by-side load run: direct upstream vs nginx proxy_pass vs mfa-gateway, in one run.

Starts nginx serving a 512-byte page (the upstream), nginx as a plain reverse proxy with upstream
keep-alive, and the gateway (release build) in front of the same upstream. Loads each in turn with
the same wrk settings over alternating rounds and prints requests/s, p50/p99, the ratios
gateway/nginx and gateway/direct; then p99 of both proxies at half of nginx's peak rate (hey at a
fixed rate), and peak RSS holding 1,000 keep-alive connections.

Usage: bench/run.py [--rounds 3] [--duration 4] [--connections 64] [--access-log] [--baseline BINARY]
--baseline: another mfa-gateway binary (e.g. a release build of an earlier commit) loaded in the
same rounds, so a change is measured side by side with what it replaces.
Needs nginx, wrk and hey (Debian packages; installed when missing and running as root).
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = {"upstream": 18081, "nginx": 18082, "gateway": 18083, "admin": 18084, "baseline": 18085,
         "baseline_admin": 18086}


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def ensure_tools():
    missing = [t for t in ("nginx", "wrk", "hey") if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")]
    if missing:
        if os.geteuid() != 0:
            sys.exit(f"missing {missing}: apt-get install nginx wrk hey")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def nginx_bin():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(work, name, body):
    conf = os.path.join(work, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(
            f"""worker_processes auto;
pid {work}/{name}.pid;
error_log {work}/{name}.error.log warn;
daemon off;
events {{ worker_connections 8192; }}
http {{
  {body}
}}
"""
        )
    proc = subprocess.Popen([nginx_bin(), "-c", conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.05)
    sys.exit(f"{url} did not come up")


def to_ms(text):
    value, unit = re.match(r"([\d.]+)\s*(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port, duration, connections):
    out = sh("wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}/index.html")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"port {port}: {errors.group(1)} non-2xx answers\n{out}")
    return rps, p50, p99


def hey_fixed_rate(port, rate, duration, connections):
    per_worker = max(1, round(rate / connections))
    out = sh("hey", "-z", f"{duration}s", "-c", str(connections), "-q", str(per_worker), f"http://127.0.0.1:{port}/index.html")
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", out).group(1)) * 1000
    p99 = float(re.search(r"99%+ in ([\d.]+) secs", out).group(1)) * 1000
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, p50, p99


def hold_idle_connections(port, count):
    """Opens `count` keep-alive connections, makes one request on each, and keeps them open.
    Returns the sockets (close them to release)."""
    import socket
    socks = []
    request = b"GET /index.html HTTP/1.1\r\nHost: bench\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        socks.append(s)
    for s in socks:
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += s.recv(4096)
    return socks


def rss_kib(pid, field="VmHWM"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def build_gateway():
    """The release binary, built now (the run measures the code as it is)."""
    print("building the gateway (release)…", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "release", "mfa-gateway")


def work_dir(prefix):
    """A scratch folder nginx's unprivileged workers can read."""
    work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(work, 0o755)
    return work


def stop_all(procs):
    """SIGTERM to every process, then a kill for any still there after 10 s."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def start_gateway(binary, config, log_path):
    with open(log_path, "w") as log:
        return subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=log)


def nginx_rss_kib(master_pid):
    total = rss_kib(master_pid, "VmRSS")
    for child in sh("pgrep", "-P", str(master_pid)).split():
        total += rss_kib(int(child), "VmRSS")
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--access-log", action="store_true", help="both proxies write an access log to a file")
    ap.add_argument("--baseline", help="another mfa-gateway binary to load in the same rounds")
    args = ap.parse_args()

    ensure_tools()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    binary = build_gateway()

    work = work_dir("mfa-bench-")
    os.makedirs(os.path.join(work, "www"))
    with open(os.path.join(work, "www", "index.html"), "w") as f:
        f.write("<!doctype html><title>bench</title>" + "x" * (512 - 36))
    procs = []
    try:
        procs.append(start_nginx(work, "upstream", f"""access_log off;
  server {{ listen 127.0.0.1:{PORTS['upstream']} reuseport; keepalive_requests 100000; location / {{ root {work}/www; }} }}"""))
        nginx_log = f"access_log {work}/nginx-access.log;" if args.access_log else "access_log off;"
        proxy = start_nginx(work, "nginx", f"""{nginx_log}
  upstream app {{ server 127.0.0.1:{PORTS['upstream']}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{PORTS['nginx']} reuseport;
    keepalive_requests 100000;
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}""")
        procs.append(proxy)
        def gateway_config(name, port, admin):
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(f"""listeners:
  - address: "127.0.0.1:{port}"
admin:
  address: "127.0.0.1:{admin}"
data_dir: "{work}/{name}-data"
logging:
  level: warn{",mfa_gateway::access=info" if args.access_log else ""}
  access_log: {"true" if args.access_log else "false"}
apps:
  - name: bench
    hosts: ["*"]
    upstream:
      url: "http://127.0.0.1:{PORTS['upstream']}"
""")
            return path

        config = gateway_config("gateway", PORTS["gateway"], PORTS["admin"])
        gateway = start_gateway(binary, config, os.path.join(work, "gateway.log"))
        procs.append(gateway)
        targets = ["direct", "nginx", "gateway"]
        port_of = {"direct": PORTS["upstream"], "nginx": PORTS["nginx"], "gateway": PORTS["gateway"]}
        if args.baseline:
            baseline_config = gateway_config("baseline", PORTS["baseline"], PORTS["baseline_admin"])
            baseline = start_gateway(args.baseline, baseline_config, os.path.join(work, "baseline.log"))
            procs.append(baseline)
            targets.append("baseline")
            port_of["baseline"] = PORTS["baseline"]
        for name in targets:
            wait_http(f"http://127.0.0.1:{port_of[name]}/index.html")
        results = {t: [] for t in targets}
        # Warm-up: fill pools and caches on every path.
        for t in targets:
            wrk(port_of[t], 1, args.connections)
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else list(reversed(targets))
            for t in order:
                results[t].append(wrk(port_of[t], args.duration, args.connections))
                print(f"  round {r + 1} {t:8s} {results[t][-1][0]:10.0f} req/s", flush=True)

        med = {t: tuple(statistics.median(x[i] for x in results[t]) for i in range(3)) for t in targets}
        print()
        print(f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} alternating rounds, medians"
              f"{' (access logs ON for both proxies)' if args.access_log else ' (access logs off)'}")
        print(f"{'path':10s} {'req/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}")
        for t in targets:
            rps, p50, p99 = med[t]
            print(f"{t:10s} {rps:10.0f} {p50:8.2f} {p99:8.2f}")
        print(f"ratio gateway/nginx  : {med['gateway'][0] / med['nginx'][0]:.3f}  (target >= 1.0)")
        print(f"ratio gateway/direct : {med['gateway'][0] / med['direct'][0]:.3f}")
        print(f"ratio nginx/direct   : {med['nginx'][0] / med['direct'][0]:.3f}")
        if args.baseline:
            print(f"ratio gateway/baseline: {med['gateway'][0] / med['baseline'][0]:.3f}"
                  f"  (baseline/nginx {med['baseline'][0] / med['nginx'][0]:.3f})")

        half = med["nginx"][0] / 2
        print()
        print(f"fixed rate {half:.0f} req/s (half of nginx's peak), hey -c{args.connections} -z{args.duration}s:")
        for t in [t for t in targets if t != "direct"]:
            rps, p50, p99 = hey_fixed_rate(port_of[t], half, args.duration, args.connections)
            print(f"{t:10s} achieved {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")

        print()
        # Settled: both proxies have given back what the burst of 1,000 first requests used
        # (the gateway trims its heap every 2 s).
        held = hold_idle_connections(PORTS["gateway"], 1000)
        time.sleep(3)
        gateway_idle = rss_kib(gateway.pid, "VmRSS")
        for c in held:
            c.close()
        held = hold_idle_connections(PORTS["nginx"], 1000)
        time.sleep(3)
        nginx_idle = nginx_rss_kib(proxy.pid)
        for c in held:
            c.close()
        print(f"RSS holding 1000 idle keep-alive connections: gateway {gateway_idle / 1024:.1f} MiB, nginx {nginx_idle / 1024:.1f} MiB")
        if args.baseline:
            held = hold_idle_connections(PORTS["baseline"], 1000)
            time.sleep(3)
            print(f"  baseline {rss_kib(baseline.pid, 'VmRSS') / 1024:.1f} MiB")
            for c in held:
                c.close()
        wrk(PORTS["gateway"], args.duration, 1000)
        wrk(PORTS["nginx"], args.duration, 1000)
        print(f"peak RSS with 1000 busy keep-alive connections (wrk -c1000): gateway {rss_kib(gateway.pid) / 1024:.1f} MiB"
              f" (target <= 30 MB); nginx master+workers now {nginx_rss_kib(proxy.pid) / 1024:.1f} MiB")
        if args.baseline:
            wrk(PORTS["baseline"], args.duration, 1000)
            print(f"  baseline {rss_kib(baseline.pid) / 1024:.1f} MiB")
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
