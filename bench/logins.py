#!/usr/bin/env python3
"""Complete MFA logins per second (password login + second factor, through the JSON flow) with
Redis + PostgreSQL, and the upstream's own login rate measured alone in the same run.

The upstream is nginx playing a legacy app whose `POST /login?username=u` always succeeds (a
`sid` cookie, the user in `X-User`), so the upstream's cost is small and reported separately.
Users are enrolled first through the JSON API; the load then alternates logins and their
verifications with the users' recovery codes (TOTP codes cannot be used more than once per
30 s per user, recovery codes can be spread over many users). See bench/logins.lua.

Usage: bench/logins.py [--users 3000] [--duration 4] [--connections 32]
Needs nginx and wrk (Debian), Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import subprocess
import time

import run  # bench/run.py: tools, nginx
from sessions import DATABASE, REDIS, totp, wait_port

PORTS = {"app": 18191, "gateway": 18192, "admin": 18193}
HERE = os.path.dirname(os.path.abspath(__file__))


def enroll(user):
    c = http.client.HTTPConnection("127.0.0.1", PORTS["gateway"], timeout=30)
    c.request("POST", f"/login?username={user}", body="",
              headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    first = json.loads(c.getresponse().read())
    c.request("POST", "/.mfa/api/enroll",
              body=json.dumps({"ephemeral_token": first["ephemeral_token"], "code": totp(first["secret"])}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 302 and len(body["backup_codes"]) == 10, (r.status, body)
    return user, body["backup_codes"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    run.ensure_tools()
    binary = run.build_gateway()
    work = run.work_dir("mfa-bench-logins-")
    schema = f"logins{int(time.time())}"
    subprocess.run(["psql", DATABASE, "-qc", f"CREATE SCHEMA {schema}"], check=True)
    procs = []
    try:
        procs.append(run.start_nginx(work, "app", f"""access_log off;
  server {{
    listen 127.0.0.1:{PORTS['app']} reuseport;
    keepalive_requests 100000;
    location = /login {{
      add_header Set-Cookie "sid=$request_id; Path=/; HttpOnly" always;
      add_header X-User $arg_username always;
      return 302 /;
    }}
  }}"""))
        config = os.path.join(work, "gateway.yaml")
        with open(config, "w") as f:
            f.write(f"""listeners:
  - address: "127.0.0.1:{PORTS['gateway']}"
admin:
  address: "127.0.0.1:{PORTS['admin']}"
data_dir: "{work}/data"
logging:
  level: warn
  access_log: false
state:
  redis_url: "{REDIS}"
  redis_prefix: "{schema}:"
  database_url: "{DATABASE}?options=-c%20search_path%3D{schema}"
apps:
  - name: legacy
    hosts: ["*"]
    upstream:
      url: "http://127.0.0.1:{PORTS['app']}"
    mfa:
      enrollment: first_login          # the word older builds (a --baseline) read too
      login:
        - path: /login
          success:
            status: [302]
            set_cookie: sid
      identity:
        header: X-User
      session_cookies: [sid]
""")
        procs.append(run.start_gateway(binary, config, os.path.join(work, "gateway.log")))
        wait_port(PORTS["app"])
        wait_port(PORTS["gateway"])

        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            enrolled = dict(pool.map(enroll, [f"u{i}" for i in range(args.users)]))
        took = time.time() - started
        print(f"enrolled {len(enrolled)} users in {took:.1f} s ({len(enrolled) / took:.0f} enrollments/s, "
              f"16 sequential clients)", flush=True)
        codes_file = os.path.join(work, "codes.lua")
        with open(codes_file, "w") as f:
            f.write("return {\n")
            for user, codes in enrolled.items():
                f.write(f'  {user} = {{{", ".join(json.dumps(c) for c in codes)}}},\n')
            f.write("}\n")

        direct = run.sh("wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s",
                        f"http://127.0.0.1:{PORTS['app']}/login?username=u1")
        direct_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", direct).group(1))
        out = run.sh("wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s",
                     "-s", os.path.join(HERE, "logins.lua"), f"http://127.0.0.1:{PORTS['gateway']}/",
                     "--", codes_file, "2")
        m = re.search(r"COMPLETED (\d+) REFUSED (\d+) SECONDS ([\d.]+)", out)
        completed, refused, seconds = int(m.group(1)), int(m.group(2)), float(m.group(3))
        requests = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        print()
        print(f"complete MFA logins (password + recovery code, JSON flow), Redis + PostgreSQL, "
              f"wrk -t2 -c{args.connections} -d{args.duration}s:")
        print(f"  {completed / seconds:.0f} logins/s ({completed} in {seconds:.1f} s; {refused} refused; "
              f"{requests:.0f} gateway requests/s)  target >= 2000/s")
        if completed >= 0.9 * 10 * len(enrolled):
            print("  (the users ran out of recovery codes: the rate is capped, run with more --users)")
        print(f"  the upstream's own login alone: {direct_rps:.0f} logins/s "
              f"(its share of a gateway login: {completed / seconds / direct_rps:.1%} of its capacity)")
    finally:
        run.stop_all(procs)
        subprocess.run(["psql", DATABASE, "-qc", f"DROP SCHEMA {schema} CASCADE"],
                       check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
