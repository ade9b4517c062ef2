#!/usr/bin/env python3
"""What anonymous sessions cost: an app that starts a session on every page (tests/php/lax,
served by PHP's own server), reached directly and through the gateway, side by side in one run.

Every anonymous page of such an app sets a new session cookie, which the gateway cannot pass
unasked: the app might have signed someone in with it (issue 17). So with identity.whoami the
gateway asks the app once per new anonymous session, and since an unbound cookie never comes
back to the app outside its login routes, every anonymous page is a new session. This prints
req/s and latency of anonymous GET /index.php for each target, and how many whoami requests the
app saw per page through the gateway.

Usage: bench/anonymous.py [--rounds 3] [--duration 4] [--connections 16] [--baseline BINARY]
--baseline: another mfa-gateway binary in the same alternating rounds (a before/after).
Needs php-cli and hey (Debian packages; hey is installed by bench/run.py's tools when missing).
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys

import run  # bench/run.py: tools, gateway build, helpers
from sessions import wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAX = os.path.join(ROOT, "tests", "php", "lax")
CONFIG = os.path.join(ROOT, "tests", "php", "lax.yaml")
PORTS = {"direct": 18281, "gateway": 18282, "admin": 18283, "baseline": 18284, "admin_b": 18285}


def hey(port, duration, connections):
    out = run.sh("hey", "-z", f"{duration}s", "-c", str(connections), "-disable-redirects",
                 f"http://127.0.0.1:{port}/index.php")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = float(re.search(r"50% in ([\d.]+) secs", out).group(1)) * 1000
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1)) * 1000
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    if set(codes) != {"200"}:
        sys.exit(f"port {port}: answers other than 200: {codes}\n{out}")
    return rps, p50, p99, int(codes["200"])


def count(log, what):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if what in line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--baseline", help="another mfa-gateway binary in the same rounds")
    args = ap.parse_args()
    run.ensure_tools()
    binary = run.build_gateway()
    work = run.work_dir("mfa-bench-anonymous-")
    sessions = os.path.join(work, "sessions")
    os.makedirs(sessions)
    php_log = os.path.join(work, "php.log")
    procs = []
    try:
        env = dict(os.environ, PHP_CLI_SERVER_WORKERS="8")
        with open(php_log, "w") as log:
            php = subprocess.Popen(
                ["php", "-d", f"session.save_path={sessions}", "-S",
                 f"127.0.0.1:{PORTS['direct']}", "-t", LAX],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        gateways = {"gateway": (binary, PORTS["gateway"], PORTS["admin"])}
        if args.baseline:
            gateways["baseline"] = (args.baseline, PORTS["baseline"], PORTS["admin_b"])
        for name, (path, port, admin) in gateways.items():
            gw_env = dict(os.environ, UPSTREAM_URL=f"http://127.0.0.1:{PORTS['direct']}",
                          MFA_LISTEN=f"127.0.0.1:{port}", MFA_ADMIN_LISTEN=f"127.0.0.1:{admin}",
                          MFA_DATA_DIR=os.path.join(work, f"{name}-data"))
            out = open(os.path.join(work, f"{name}.log"), "w")
            procs.append(subprocess.Popen([path, "serve", "--config", CONFIG], env=gw_env,
                                          stdout=out, stderr=subprocess.STDOUT))
        for port in [PORTS["direct"], *(p for _, p, _ in gateways.values())]:
            wait_port(port)
        targets = ["direct", *gateways]
        port_of = {"direct": PORTS["direct"], **{n: g[1] for n, g in gateways.items()}}
        results = {t: [] for t in targets}
        asked = {t: [] for t in gateways}
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else list(reversed(targets))
            for t in order:
                before = count(php_log, "/whoami.php")
                result = hey(port_of[t], args.duration, args.connections)
                results[t].append(result)
                if t in gateways:
                    asked[t].append((count(php_log, "/whoami.php") - before) / result[3])
                print(f"  round {r + 1} {t:<9} {result[0]:>8.0f} req/s", flush=True)
        print()
        print(f"anonymous GET /index.php (a new PHP session each), hey -c{args.connections} "
              f"-z{args.duration}s, {args.rounds} alternating rounds, medians")
        print(f"{'path':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'whoami/page':>12}")
        med = {t: [statistics.median(x[i] for x in results[t]) for i in range(3)] for t in targets}
        for t in targets:
            per_page = f"{statistics.median(asked[t]):.2f}" if t in asked else "-"
            print(f"{t:<10} {med[t][0]:>8.0f} {med[t][1]:>8.2f} {med[t][2]:>8.2f} {per_page:>12}")
        print(f"ratio gateway/direct  : {med['gateway'][0] / med['direct'][0]:.3f}")
        if args.baseline:
            print(f"ratio gateway/baseline: {med['gateway'][0] / med['baseline'][0]:.3f}")
    finally:
        run.stop_all(procs)
        try:
            os.killpg(php.pid, signal.SIGTERM)
        except (NameError, ProcessLookupError):
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
