#!/usr/bin/env python3
"""Authenticated requests per second: the gateway checking an app session bound to a verified
gateway session, with the embedded stores (memory + SQLite) and with Redis + PostgreSQL, side by
side in one run, against the same upstream reached directly.

The upstream is nginx playing a legacy app: `POST /login` starts a session (cookie `sid`) for
anyone, `/` answers 200 with a session cookie and 302 without, `/me` names the user (whoami). One user is enrolled through the
JSON API of each gateway; wrk then sends that user's cookies. With Redis the gateway must not pay
a round trip per request (its session cache), so the target is redis/memory >= 0.95.

Usage: bench/sessions.py [--rounds 3] [--duration 4] [--connections 64] [--session-cache 2s]
                         [--baseline BINARY]
--baseline: another mfa-gateway binary (e.g. a release build of an earlier commit) with the
embedded stores, in the same alternating rounds: a before/after of a hot-path change in one run.
Needs nginx and wrk (Debian), Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 with
trust auth (scripts/test starts them).
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import run  # bench/run.py: tools, nginx, wrk

PORTS = {"app": 18181, "memory": 18182, "redis": 18183, "admin_m": 18184, "admin_r": 18185,
         "baseline": 18186, "admin_b": 18187}
DATABASE = os.environ.get("MFA_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MFA_TEST_REDIS_URL", "redis://127.0.0.1:6379/")


def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(time.time() // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(int.from_bytes(mac[o:o + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def gateway_config(work, name, port, admin, state):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"""listeners:
  - address: "127.0.0.1:{port}"
admin:
  address: "127.0.0.1:{admin}"
data_dir: "{work}/{name}-data"
logging:
  level: warn
  access_log: false
{state}
apps:
  - name: legacy
    hosts: ["*"]
    upstream:
      url: "http://127.0.0.1:{PORTS['app']}"
    mfa:
      enrollment: first_login          # the word older builds (a --baseline) read too
      login:
        - path: /login
          username_field: username
          success:
            status: [302]
            set_cookie: sid
      session_cookies: [sid]
      identity:
        whoami: {{ path: /me, json_pointer: /user }}
""")
    return path


def enroll(port):
    """Signs a user up through the JSON API; returns the Cookie header of the verified session."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/login", body="username=bench&password=x",
              headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    r = c.getresponse()
    first = json.loads(r.read())
    assert first.get("enrollment_required"), first
    c.request("POST", "/.mfa/api/enroll",
              body=json.dumps({"ephemeral_token": first["ephemeral_token"], "code": totp(first["secret"])}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 302, r.status
    cookies = [v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"]
    header = "; ".join(cookies)
    c.request("GET", "/", headers={"Cookie": header})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200 and b"members only" in body, (r.status, body)
    return header


def wait_port(port, timeout=20):
    import socket
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def wrk_with_cookie(port, duration, connections, cookie):
    out = run.sh("wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                 "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}/")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = run.to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = run.to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    if re.search(r"Non-2xx or 3xx responses", out):
        sys.exit(f"port {port}: non-2xx answers\n{out}")
    return rps, p50, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--session-cache", default="2s", help="state.session_cache of the Redis gateway (0s: a Redis round trip per request)")
    ap.add_argument("--baseline", help="another mfa-gateway binary (embedded stores) in the same rounds")
    args = ap.parse_args()
    run.ensure_tools()
    binary = run.build_gateway()

    work = run.work_dir("mfa-bench-sessions-")
    schema = f"bench{int(time.time())}"
    subprocess.run(["psql", DATABASE, "-qc", f"CREATE SCHEMA {schema}"], check=True)
    procs = []
    try:
        procs.append(run.start_nginx(work, "app", f"""access_log off;
  server {{
    listen 127.0.0.1:{PORTS['app']} reuseport;
    keepalive_requests 100000;
    location = /login {{ add_header Set-Cookie "sid=$request_id; Path=/; HttpOnly" always; return 302 /; }}
    location = /me {{
      if ($cookie_sid = "") {{ return 401; }}
      default_type application/json;
      return 200 '{{"user":"bench"}}';
    }}
    location / {{
      if ($cookie_sid = "") {{ return 302 /login; }}
      default_type text/html;
      return 200 "<p>members only</p>\\n";
    }}
  }}"""))
        shared = f"""state:
  redis_url: "{REDIS}"
  redis_prefix: "{schema}:"
  session_cache: "{args.session_cache}"
  database_url: "{DATABASE}?options=-c%20search_path%3D{schema}"
"""
        configs = {
            "memory": gateway_config(work, "memory", PORTS["memory"], PORTS["admin_m"], ""),
            "redis": gateway_config(work, "redis", PORTS["redis"], PORTS["admin_r"], shared),
        }
        binaries = {"memory": binary, "redis": binary}
        if args.baseline:
            configs["baseline"] = gateway_config(work, "baseline", PORTS["baseline"], PORTS["admin_b"], "")
            binaries["baseline"] = args.baseline
        for name, config in configs.items():
            procs.append(run.start_gateway(binaries[name], config, os.path.join(work, f"{name}.log")))
        gateways = list(configs)
        for name in ("app", *gateways):
            wait_port(PORTS[name])
        cookies = {name: enroll(PORTS[name]) for name in gateways}
        cookies["direct"] = "sid=direct"
        port_of = {"direct": PORTS["app"], **{name: PORTS[name] for name in gateways}}
        targets = ["direct", *gateways]
        results = {t: [] for t in targets}
        for t in targets:
            wrk_with_cookie(port_of[t], 1, args.connections, cookies[t])
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else list(reversed(targets))
            for t in order:
                results[t].append(wrk_with_cookie(port_of[t], args.duration, args.connections, cookies[t]))
                print(f"  round {r + 1} {t:<8} {results[t][-1][0]:>9.0f} req/s", flush=True)
        med = {t: tuple(statistics.median(x[i] for x in results[t]) for i in range(3)) for t in targets}
        print()
        print(f"authenticated GET /, wrk -t2 -c{args.connections} -d{args.duration}s, "
              f"{args.rounds} alternating rounds, medians")
        print(f"{'path':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for t in targets:
            rps, p50, p99 = med[t]
            print(f"{t:<10} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f}")
        print(f"ratio redis/memory   : {med['redis'][0] / med['memory'][0]:.3f}  (target >= 0.95)")
        print(f"ratio memory/direct  : {med['memory'][0] / med['direct'][0]:.3f}")
        if args.baseline:
            print(f"ratio memory/baseline: {med['memory'][0] / med['baseline'][0]:.3f}  (this build / --baseline)")
    finally:
        run.stop_all(procs)
        subprocess.run(["psql", DATABASE, "-qc", f"DROP SCHEMA {schema} CASCADE"], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
