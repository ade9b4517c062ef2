"""The differential run: each login shape (shapes.py) once straight to the app, to learn whom the
app signs in (its "who am I" view, asked with the cookie or token it answered with), and once
through the gateway. Whenever the app would sign in X, the gateway must challenge X (its
`login_intercepted` audit record for that request, found by the X-Request-Id it answered with,
names X) or refuse (4xx); it must never hand out the app's session cookie or token before a code,
and never challenge anyone else."""
import concurrent.futures
import json
import os
from collections import Counter
from dataclasses import dataclass

from gwkit import ARTIFACTS, Answer, app_cookies_set, canonical_user, is_challenge, send

# Filled as modules run, printed at the end of the session (conftest's terminal summary).
SUMMARIES = {}


@dataclass
class Outcome:
    shape: object
    direct: Answer
    app_user: object          # whom the app signed in (None: nobody)
    via: Answer
    gateway: str              # challenge | refused | error | passed
    challenged: object        # the user the gateway's audit record names
    leaked: list              # app credentials in the gateway's answer
    verdict: str              # same user | refused | app refused | MISMATCH: ...


class AppProbe:
    """How to read one app: its session cookie names or token, and its who-am-I view."""

    def __init__(self, port, cookie_names=(), whoami_path=None, token_scheme=None,
                 token_whoami=None, casefold=False, extra_headers=()):
        self.port = port
        self.cookie_names = list(cookie_names)
        self.whoami_path = whoami_path
        self.token_scheme = token_scheme
        self.token_whoami = token_whoami
        self.casefold = casefold
        self.extra_headers = list(extra_headers)
        self.tokens = set()

    def credential(self, answer):
        """(kind, value) of the session the app's answer starts, or None."""
        cookies = app_cookies_set(answer, self.cookie_names)
        if cookies:
            return ("cookie", cookies[-1])
        if self.token_scheme:
            try:
                token = json.loads(answer.body).get("token")
            except (ValueError, AttributeError):
                token = None
            if isinstance(token, str) and token:
                return ("token", token)
        return None

    def who(self, credential):
        kind, value = credential
        if kind == "cookie":
            name, v = value
            r = send(self.port, "GET", self.whoami_path, [("Cookie", f"{name}={v}")])
        else:
            self.tokens.add(value)
            r = send(self.port, "GET", self.token_whoami,
                     [("Authorization", f"{self.token_scheme} {value}")])
        assert r.status == 200, f"who-am-I answered {r!r}"
        return json.loads(r.body)["user"]

    def leaks(self, answer):
        found = [f"Set-Cookie {n}" for n, _ in app_cookies_set(answer, self.cookie_names)]
        for token in self.tokens:
            if token.encode() in answer.body or any(token in v for _, v in answer.headers):
                found.append("token")
        if self.token_scheme:
            try:
                if json.loads(answer.body).get("token"):
                    found.append("token field")
            except (ValueError, AttributeError):
                pass
        return found


def gateway_answer(gateway, via):
    """How the gateway answered a request: challenge, refused (4xx), error (5xx) or passed;
    and for a challenge the user it challenged (a list when several, None when none)."""
    if is_challenge(via):
        recs = gateway.records_for(via.get("x-request-id"), "login_intercepted")
        users = {r["user"] for r in recs if r.get("outcome") == "challenge"}
        return "challenge", users.pop() if len(users) == 1 else (sorted(users) or None)
    if 400 <= via.status < 500:
        return "refused", None
    return ("error" if via.status >= 500 else "passed"), None


def run(name, shapes, probe, gateway, workers=8):
    def one(shape):
        headers = [*probe.extra_headers, *shape.headers]
        direct = send(probe.port, "POST", shape.target, headers, shape.body)
        cred = probe.credential(direct)
        app_user = probe.who(cred) if cred else None
        via = send(gateway.port, "POST", shape.target, headers, shape.body)
        return shape, direct, app_user, via

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        sent = list(pool.map(one, shapes))

    outcomes = []
    for shape, direct, app_user, via in sent:
        leaked = probe.leaks(via)
        kind, challenged = gateway_answer(gateway, via)
        canon = lambda u: canonical_user(u, probe.casefold)  # noqa: E731
        if leaked:
            verdict = "MISMATCH: app credential reached the client"
        elif app_user is not None:
            if kind == "challenge":
                if challenged is None:
                    verdict = "MISMATCH: challenge without its audit record"
                elif isinstance(challenged, list) or canon(challenged) != canon(app_user):
                    verdict = "MISMATCH: challenged another user"
                else:
                    verdict = "same user"
            elif kind == "refused":
                verdict = "refused"
            elif kind == "error":
                verdict = "refused (5xx)"
            else:
                verdict = "MISMATCH: app signed in, gateway neither challenged nor refused"
        else:
            if kind == "challenge":
                verdict = "MISMATCH: challenged, but the app signs nobody in"
            else:
                verdict = "app refused"
        outcomes.append(Outcome(shape, direct, app_user, via, kind, challenged, leaked, verdict))
    SUMMARIES[name] = summarize(name, outcomes)
    return outcomes


def summarize(name, outcomes):
    signed = [o for o in outcomes if o.app_user is not None]
    counts = Counter(o.verdict for o in outcomes)
    mismatches = [o for o in outcomes if o.verdict.startswith("MISMATCH")]
    gateway_kinds = Counter(o.gateway for o in outcomes)
    lines = [
        f"differential: {name}",
        f"  shapes generated                 {len(outcomes):5d}",
        f"  app signed someone in            {len(signed):5d}"
        f"   ({', '.join(f'{u}: {n}' for u, n in sorted(Counter(o.app_user for o in signed).items()))})",
        f"  gateway challenged the same user {counts['same user']:5d}",
        f"  gateway refused (4xx)            {counts['refused']:5d}",
        f"  gateway refused (5xx)            {counts['refused (5xx)']:5d}",
        f"  app refused (nobody signed in)   {counts['app refused']:5d}",
        f"  mismatches                       {len(mismatches):5d}",
        "  gateway answers: " + ", ".join(f"{k} {v}" for k, v in sorted(gateway_kinds.items())),
    ]
    for verdict, n in sorted(Counter(o.verdict for o in mismatches).items()):
        lines.append(f"    {n:4d} × {verdict}")
    for o in mismatches[:40]:
        lines.append(f"      - [{o.shape.label}] {o.shape.target} app={o.app_user!r} "
                     f"gateway={o.via.status} {o.gateway} challenged={o.challenged!r} leaked={o.leaked}")
    if len(mismatches) > 40:
        lines.append(f"      ... and {len(mismatches) - 40} more (see the file below)")
    text = "\n".join(lines)
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"differential-{name}.txt")
    with open(path, "w") as f:
        f.write(text + "\n\nevery shape:\n")
        for o in outcomes:
            f.write(f"{o.verdict:60s} app={o.app_user!r:10} direct={o.direct.status} "
                    f"gateway={o.via.status}/{o.gateway} challenged={o.challenged!r} "
                    f"[{o.shape.label}] {o.shape.target} {o.shape.body[:120]!r}\n")
    return text + f"\n  (every shape: {os.path.relpath(path)})"
