"""Issue 17 against a deliberately lax PHP app (tests/php/lax, served by `php -S`) behind
tests/php/lax.yaml, a config written as an operator would from the README. The app signs in on
any page from credentials in the query string, cleans user names its own way (`_Alice!` is
alice), keeps the session id from before the login and opens it with a new `auth` cookie, keeps
a "remember me" cookie that is only the user's numeric id, and takes uploads and page edits on
its login path. Through the gateway: an answer in which the app signed someone in never reaches
the client before that user's second factor, the app names the user, a cookie that is no secret
acts on no session, and bodies that cannot be logins reach the app whole."""
import base64
import concurrent.futures
import dataclasses
import json
import os
import random
import re
import subprocess
import urllib.parse

import pytest

from differential import SUMMARIES, Outcome, gateway_answer, summarize
from gwkit import (
    NO_LOGIN_THROTTLES, PASSWORD, GatewayProcess, app_cookies_set, client, derived_config,
    form_value, fresh_client_ip, is_challenge, is_deletion, send, set_cookies, totp,
)

HERE = os.path.dirname(os.path.abspath(__file__))
LAX_CONFIG = os.path.join(HERE, "lax.yaml")
FORM = "application/x-www-form-urlencoded"
JSON = {"Accept": "application/json"}
PRIVATE = "Private page of"
APP_COOKIES = ["PHPSESSID", "auth", "remember"]
USER_IDS = {"alice": "1", "bob": "2", "carol": "3"}
SPELLINGS = ["alice.", "_alice", "-alice-", "alice!", "alice:"]
MIB_AND_A_HALF = 3 * 1024 * 1024 // 2
WHOAMI_IDENTITY = """      identity:
        whoami:
          path: /whoami.php
          json_pointer: /user
"""


def app_name(typed):
    """A user name the way the lax app cleans it (users.php): lower case, only [a-z0-9]."""
    return re.sub(r"[^a-z0-9]", "", typed.lower())


def query(user, password=PASSWORD, **more):
    return urllib.parse.urlencode({"user": user, "password": password, **more})


def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in dict(jar).items())


def jar_after(jar, answer):
    """The cookies a browser holds after `answer`: `jar` updated by its Set-Cookie lines (every
    cookie of this app lives on path /)."""
    jar = dict(jar)
    for name, value, attrs in set_cookies(answer):
        if is_deletion(value, attrs):
            jar.pop(name, None)
        else:
            jar[name] = value
    return jar


def app_whoami(site, jar):
    """Whom the app itself (not through the gateway) takes these cookies for."""
    r = send(site.port, "GET", "/whoami.php", [("Cookie", cookie_header(jar))] if jar else [])
    assert r.status == 200, r
    return r.json()["user"]


def enrolled_users(gw):
    """The users with a factor, as `mfa-gateway user list` shows them."""
    out = subprocess.run([gw.binary, "user", "list", "--json", "--operator", "tests",
                          "--config", gw.config], env=gw.env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return {json.loads(line)["user"] for line in out.stdout.splitlines() if line.strip()}


def enroll(gw, user):
    """A first login through the JSON flow (a form post without earlier cookies), enrolled with
    an authenticator's code; the recovery codes it answers."""
    s = client()
    r = s.post(f"{gw.url}/login.php", data={"user": user, "password": PASSWORD}, headers=JSON,
               allow_redirects=False)
    body = r.json()
    assert body.get("enrollment_required") is True, r.text[:300]
    done = s.post(f"{gw.url}/.mfa/api/enroll", allow_redirects=False,
                  json={"ephemeral_token": body["ephemeral_token"], "code": totp(body["secret"])})
    assert done.status_code == 302 and done.headers["location"] == "/index.php", done.text[:300]
    return list(done.json()["backup_codes"])


class Env:
    pass


@pytest.fixture(scope="module")
def env(lax_site, tmp_path_factory):
    """The gateway on tests/php/lax.yaml, alice and bob enrolled (without a pre-login cookie,
    the one way that worked before issue 17, so that each test fails only on its own point)."""
    gw = GatewayProcess(lax_site.url, str(tmp_path_factory.mktemp("php-lax")), config=LAX_CONFIG)
    try:
        e = Env()
        e.site, e.gw = lax_site, gw
        e.codes = {user: enroll(gw, user) for user in ("alice", "bob")}     # carol: none yet
        yield e
    finally:
        gw.stop()


def verified(env, user, remember=False, prelogin=False):
    """A browser that signed in as `user` on the app's form and gave a recovery code; with
    `prelogin`, it first opened the login page and holds the app's anonymous session."""
    gw = env.gw
    s = client()
    if prelogin:
        s.get(f"{gw.url}/login.php")
        assert "PHPSESSID" in s.cookies, "the app's session from before the login did not reach the browser"
    data = {"user": user, "password": PASSWORD, **({"remember": "1"} if remember else {})}
    r = s.post(f"{gw.url}/login.php", data=data, allow_redirects=False)
    assert r.status_code == 303 and r.headers.get("location") == "/.mfa/verify", (r.status_code, r.text[:300])
    page = s.get(f"{gw.url}/.mfa/verify")
    ok = s.post(f"{gw.url}/.mfa/verify", allow_redirects=False,
                data={"csrf": form_value(page.text, "csrf"), "code": env.codes[user].pop()})
    assert ok.status_code == 302 and ok.headers["location"] == "/index.php", (ok.status_code, ok.text[:300])
    return s


def challenged_users(gw, answer):
    recs = gw.records_for(answer.get("x-request-id"), "login_intercepted")
    return [(r["user"], r.get("step")) for r in recs if r.get("outcome") == "challenge"]


# --- 1. An answer that signs someone in is withheld whole --------------------------------------

def test_a_password_in_the_query_string_is_withheld_behind_the_second_factor(env):
    """A GET that signs alice in by its query string shows nothing of alice's before her code."""
    # With whoami configured, gateways before issue 17 already withheld this one: both cookies
    # of the answer are new, and whoami was asked with them. The typed-name and verified-user
    # cases below are the ones that passed the signed-in page.
    answer = send(env.gw.port, "GET", f"/index.php?{query('alice')}", source_ip=fresh_client_ip())
    assert PRIVATE not in answer.text, f"the signed-in page passed without a code: {answer!r}"
    assert not app_cookies_set(answer, ["auth"]), answer
    assert is_challenge(answer) and answer.get("location") == "/.mfa/verify", answer
    assert challenged_users(env.gw, answer) == [("alice", "verify")]


def test_a_query_string_login_is_released_after_enrollment(env):
    """An API client signed in by a query string gets the app's page once it enrolled."""
    s = client()
    r = s.get(f"{env.gw.url}/index.php?{query('carol')}", headers=JSON, allow_redirects=False)
    assert PRIVATE not in r.text, r.text[:300]
    body = r.json()
    assert body["mfa_required"] is True and body["enrollment_required"] is True, body
    assert "auth" not in s.cookies
    done = s.post(f"{env.gw.url}/.mfa/api/enroll", allow_redirects=False,
                  json={"ephemeral_token": body["ephemeral_token"], "code": totp(body["secret"])})
    assert done.status_code == 200, done.text[:300]
    assert "Private page of carol" in done.json()["response"]
    assert "Private page of carol" in s.get(f"{env.gw.url}/index.php").text


def test_anonymous_pages_keep_the_session_the_app_starts_on_every_page(env):
    """A visitor who is not signed in gets the app's pages and its login form's session."""
    s = client()
    first = s.get(f"{env.gw.url}/index.php")
    assert first.status_code == 200 and "Not signed in" in first.text, first.text[:300]
    assert s.cookies.get("PHPSESSID"), "the app's anonymous session did not reach the browser"
    form = s.get(f"{env.gw.url}/login.php")
    assert form.status_code == 200 and "Remember me" in form.text
    anonymous = s.cookies.get("PHPSESSID")
    # The anonymous session comes back to the app on its login route: a wrong password is the
    # app's own answer on that session (no new one).
    wrong = s.post(f"{env.gw.url}/login.php", data={"user": "alice", "password": "wrong"},
                   allow_redirects=False)
    assert wrong.status_code == 200 and "Wrong user name or password" in wrong.text
    assert not app_cookies_set(wrong, APP_COOKIES), wrong.headers
    assert s.cookies.get("PHPSESSID") == anonymous


def test_a_verified_user_with_anothers_password_in_the_query_gets_nothing_of_theirs(env):
    """Bob, verified, who puts alice's password in a query string sees no page of alice's."""
    bob = verified(env, "bob")
    answer = send(env.gw.port, "GET", f"/index.php?{query('alice')}",
                  [("Cookie", cookie_header(bob.cookies))], source_ip=fresh_client_ip())
    assert "Private page of alice" not in answer.text, f"bob read alice's page: {answer!r}"
    assert not app_cookies_set(answer, ["auth"]), answer
    if is_challenge(answer):
        assert challenged_users(env.gw, answer) == [("alice", "verify")]
    else:
        assert 400 <= answer.status < 500, answer
    jar = jar_after(bob.cookies, answer)
    after = send(env.gw.port, "GET", "/index.php", [("Cookie", cookie_header(jar))])
    assert "Private page of alice" not in after.text, after


# --- 2. Every app can name its user ----------------------------------------------------------

@pytest.mark.parametrize("typed", SPELLINGS)
def test_a_name_spelled_the_apps_way_leads_to_the_enrolled_users_code(env, typed):
    """Signing in as `alice.` (the app's alice) from the login page asks for alice's code."""
    s = client()
    s.get(f"{env.gw.url}/login.php")
    r = s.post(f"{env.gw.url}/login.php", data={"user": typed, "password": PASSWORD},
               headers=JSON, allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    body = r.json()
    assert body.get("mfa_required") is True and "enrollment_required" not in body, body
    recs = env.gw.records_for(r.headers["x-request-id"], "login_intercepted")
    assert [(x["user"], x.get("step")) for x in recs] == [("alice", "verify")], recs
    assert enrolled_users(env.gw) <= {"alice", "bob", "carol"}


@pytest.fixture(scope="module")
def typed_gw(lax_site, tmp_path_factory):
    """The gateway with the typed name as the identity (the explicit opt-in), alice enrolled."""
    d = tmp_path_factory.mktemp("php-lax-typed")
    with open(LAX_CONFIG) as f:
        text = f.read()
    assert WHOAMI_IDENTITY in text
    config = str(d / "lax-typed-name.yaml")
    with open(config, "w") as f:
        f.write(text.replace(WHOAMI_IDENTITY, "      identity: { typed_name: true }\n"))
    gw = GatewayProcess(lax_site.url, str(d), config=config)
    try:
        enroll(gw, "alice")
        yield gw
    finally:
        gw.stop()


@pytest.mark.parametrize("typed", SPELLINGS)
def test_a_typed_name_the_app_takes_for_an_enrolled_user_enrolls_nobody(typed_gw, typed):
    """With the typed name as identity, `alice.` cannot enroll a new identity for alice's account
    on the password alone: it needs an administrator's invite code, and no secret is shown."""
    answer = send(typed_gw.port, "POST", "/login.php", [("Content-Type", FORM), ("Accept", "application/json")],
                  query(typed).encode(), source_ip=fresh_client_ip())
    assert answer.status == 200, answer
    body = answer.json()
    assert body.get("invite_required") is True and "secret" not in body, body
    assert not app_cookies_set(answer, APP_COOKIES), answer
    recs = typed_gw.records_for(answer.get("x-request-id"))
    assert [(r["event"], r.get("step"), r.get("reason")) for r in recs] == [
        ("login_intercepted", "invite", "name looks like an enrolled user's")], recs
    assert enrolled_users(typed_gw) == {"alice"}


def test_under_the_typed_name_a_query_string_login_is_refused_whole(typed_gw):
    """With the typed name as identity, a sign-in by query string shows nothing of alice's. The
    app cannot be asked, so its new session is believed anonymous only on the login page: an
    anonymous page elsewhere that starts one is refused too (whoami is the config for it)."""
    ip = fresh_client_ip()
    anonymous = send(typed_gw.port, "GET", "/login.php", source_ip=ip)
    assert anonymous.status == 200, anonymous
    assert app_cookies_set(anonymous, ["PHPSESSID"]), anonymous
    elsewhere = send(typed_gw.port, "GET", "/index.php", source_ip=ip)
    assert elsewhere.status == 403, elsewhere
    answer = send(typed_gw.port, "GET", f"/index.php?{query('alice')}", source_ip=ip)
    assert PRIVATE not in answer.text, f"the signed-in page passed without a code: {answer!r}"
    assert not app_cookies_set(answer, ["auth", "remember"]), answer
    if is_challenge(answer):
        assert challenged_users(typed_gw, answer) == [("alice", "verify")]
    else:
        assert 400 <= answer.status < 500, answer


def test_a_form_login_on_the_session_from_the_login_page_completes(env):
    """A browser that opened the login page first (its PHPSESSID) signs in and reaches its page."""
    s = verified(env, "alice", prelogin=True)
    assert "Private page of alice" in s.get(f"{env.gw.url}/index.php").text
    assert s.get(f"{env.gw.url}/whoami.php").json() == {"user": "alice"}


# --- 3. Only a session's own gateway cookie acts on that session --------------------------------

def test_a_remember_me_id_alone_does_not_end_someone_elses_session(env):
    """An outsider sending only `Cookie: remember=1` (alice's id) leaves alice signed in."""
    alice = verified(env, "alice", remember=True)
    assert alice.cookies.get("remember") == USER_IDS["alice"]
    assert "Private page of alice" in alice.get(f"{env.gw.url}/index.php").text
    outsider = send(env.gw.port, "GET", "/index.php", [("Cookie", f"remember={USER_IDS['alice']}")],
                    source_ip=fresh_client_ip())
    assert PRIVATE not in outsider.text, outsider
    assert "Private page of alice" in alice.get(f"{env.gw.url}/index.php").text, \
        "alice's session ended because of an outsider's cookie"
    ended = [r for r in env.gw.records() if r.get("event") == "session_ended" and r.get("user") == "alice"]
    assert ended == []


# --- 4. Reading a login body never breaks the app ----------------------------------------------

@pytest.fixture(scope="module")
def alice(env):
    return verified(env, "alice")


UPLOADS = {
    "multipart file": dict(path="/login.php", size=MIB_AND_A_HALF, answer="stored",
                           files=lambda data: {"file": ("notes.bin", data, "application/octet-stream")}),
    "raw octet-stream": dict(path="/login.php?upload=1", size=MIB_AND_A_HALF, answer="stored",
                             headers={"Content-Type": "application/octet-stream"}),
    "raw text script": dict(path="/login.php?upload=1", size=2000, answer="stored",
                            headers={"Content-Type": "text/plain"}),
    "urlencoded page edit": dict(path="/login.php", size=MIB_AND_A_HALF, answer="saved", form=True),
}


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_uploads_and_edits_on_the_login_path_reach_the_app(env, alice, kind):
    """A verified user's upload or page edit on the login path gets the app's own answer."""
    u = UPLOADS[kind]
    data = random.Random(kind).randbytes(u["size"])
    url = f"{env.gw.url}{u['path']}"
    if "files" in u:
        r = alice.post(url, files=u["files"](data), allow_redirects=False)
    elif u.get("form"):
        r = alice.post(url, data={"content": "x" * u["size"]}, allow_redirects=False)
    else:
        r = alice.post(url, data=data, headers=u["headers"], allow_redirects=False)
    assert (r.status_code, r.text.strip()) == (200, f"{u['answer']} {u['size']} bytes"), \
        (r.status_code, r.text[:300])


# --- The differential: the app's answer against the gateway's --------------------------------

@dataclasses.dataclass
class Req:
    label: str
    user: str                 # the name the request carries, as typed
    method: str
    target: str
    headers: list
    body: bytes
    session: object           # None, "pre-login" (the app's anonymous session) or a verified user


PAGES = ["/index.php", "/whoami.php", "/login.php", "/logout.php"]
NAMES = ["alice", "Alice", "bob", "carol", "nobody", *SPELLINGS]
SESSIONS = [None, "pre-login", "bob", "carol"]


def placements(user, password):
    """Where a request can carry credentials: (label, method, query, headers, body)."""
    form = query(user, password).encode()
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [
        ("query GET", "GET", query(user, password), [], b""),
        ("query GET remember", "GET", query(user, password, remember="1"), [], b""),
        ("query POST", "POST", query(user, password), [("Content-Type", FORM)], b"x=1"),
        ("form body", "POST", "", [("Content-Type", FORM)], form),
        ("form body remember", "POST", "", [("Content-Type", FORM)], form + b"&remember=1"),
        ("headers", "GET", "", [("X-User", user), ("X-Password", password)], b""),
        ("basic", "GET", "", [("Authorization", f"Basic {basic}")], b""),
    ]


def generate(n=100, seed=17):
    """`n` requests: the right password in a query string and on the login form for a few names,
    anonymous and on the app's pre-login session, and in a query string sent by another verified
    user; then a fixed-seed sample of every other combination of page, name, password,
    placement and session (at most 9 with each verified user: one recovery code each)."""
    everything = []
    for page in PAGES:
        for name in NAMES:
            for password in (PASSWORD, "wrong"):
                for label, method, q, headers, body in placements(name, password):
                    for session in SESSIONS:
                        everything.append(Req(
                            f"{label} | {name!r}{'' if password == PASSWORD else ' wrong password'}"
                            f"{f' | {session} session' if session else ''}",
                            name, method, page + (f"?{q}" if q else ""), headers, body, session))

    def placed(r):
        return r.label.split(" | ")[0]

    good = [r for r in everything if "wrong" not in r.label]
    sure = [r for r in good if placed(r) in ("query GET", "form body") and r.session in (None, "pre-login")
            and r.user in ("alice", "bob", "carol", "alice.") and r.target.startswith(("/index.php", "/login.php"))]
    sure += [r for r in good if placed(r) == "query GET" and r.target.startswith("/index.php")
             and (r.session, r.user) in (("bob", "alice"), ("bob", "_alice"), ("bob", "carol"),
                                         ("carol", "alice"), ("carol", "bob"))]
    rng = random.Random(seed)
    rest = [r for r in everything if r not in sure]
    verified = {u: [r for r in rest if r.session == u] for u in ("bob", "carol")}
    picked = sure + rng.sample(verified["bob"], 6) + rng.sample(verified["carol"], 6)
    anonymous = [r for r in rest if r.session in (None, "pre-login")]
    return picked + rng.sample(anonymous, n - len(picked))


@pytest.fixture(scope="module")
def diff_gw(lax_site, tmp_path_factory):
    d = tmp_path_factory.mktemp("php-lax-differential")
    config = derived_config(LAX_CONFIG, str(d / "lax.yaml"), NO_LOGIN_THROTTLES)
    gw = GatewayProcess(lax_site.url, str(d), config=config)
    try:
        gw.codes = {user: enroll(gw, user) for user in ("alice", "bob", "carol")}
        yield gw
    finally:
        gw.stop()


def test_differential_the_gateway_never_passes_an_answer_that_signed_someone_in(lax_site, diff_gw):
    """The same requests straight to the app and through the gateway: whenever the app signs X in,
    the gateway challenges X or refuses, and no answer without X's code signs X in."""
    site = lax_site
    env = Env()
    env.gw, env.codes = diff_gw, diff_gw.codes

    def session_jar(port, session):
        """The cookies a browser holds before the request: none, the app's anonymous session
        from its login page, or a signed-in session (through the gateway: verified)."""
        if session is None:
            return {}
        if session == "pre-login":
            r = send(port, "GET", "/login.php")
            [(_, value)] = app_cookies_set(r, ["PHPSESSID"])
            return {"PHPSESSID": value}
        if port == site.port:
            r = send(port, "POST", "/login.php", [("Content-Type", FORM)], query(session).encode())
            return jar_after({}, r)
        return dict(verified(env, session).cookies)

    def one(req):
        results = []
        for port in (site.port, diff_gw.port):
            jar = session_jar(port, req.session)
            headers = [*req.headers, *([("Cookie", cookie_header(jar))] if jar else [])]
            answer = send(port, req.method, req.target, headers, req.body)
            after = jar_after(jar, answer)
            results.append((answer, "auth" in jar_after({}, answer), app_whoami(site, after)))
        return req, results

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(one, generate()))

    def someone_else(name, req):
        return name is not None and name != req.session

    outcomes = []
    for req, [(direct, direct_auth, direct_user), (via, via_auth, via_user)] in sent:
        # Whom the app signed in: a new auth cookie that opens a session, or another user's page.
        shown = re.search(PRIVATE + r" ([a-z0-9]+)", direct.text)
        app_user = direct_user if direct_auth else None
        if app_user is None and shown and someone_else(shown.group(1), req):
            app_user = shown.group(1)
        leaked = []
        page = re.search(PRIVATE + r" ([a-z0-9]+)", via.text)
        if page and someone_else(page.group(1), req):
            leaked.append(f"the page of {page.group(1)}")
        if someone_else(via_user, req):
            leaked.append(f"a jar the app takes for {via_user}")
        if via_auth and someone_else(app_user, req):
            leaked.append("Set-Cookie auth")
        kind, challenged = gateway_answer(diff_gw, via)
        if leaked:
            verdict = "MISMATCH: the app's sign-in reached the client"
        elif someone_else(app_user, req):
            verdict = {"challenge": "same user" if challenged == app_user else "MISMATCH: challenged another user",
                       "refused": "refused", "error": "refused (5xx)",
                       "passed": "MISMATCH: app signed in, gateway neither challenged nor refused"}[kind]
        elif kind == "challenge":
            verdict = "MISMATCH: challenged, but the app signs nobody new in"
        else:
            verdict = "app refused" if app_user is None else "app renewed the session's own user"
        outcomes.append(Outcome(req, direct, app_user, via, kind, challenged, leaked, verdict))
    SUMMARIES["php-lax"] = summarize("php-lax", outcomes)
    signed = [o for o in outcomes if someone_else(o.app_user, o.shape)]
    assert len(signed) > 20, "too few requests signed anyone in"
    assert {o.app_user for o in signed} >= {"alice", "bob", "carol"}
    assert any(o.shape.session in ("bob", "carol") for o in signed)
    assert not [o for o in outcomes if o.verdict.startswith("MISMATCH")], SUMMARIES["php-lax"]


# --- From the attack review of this change -----------------------------------------------------

def test_a_comma_in_a_session_cookie_opens_no_other_reading_of_it(env):
    """`PHPSESSID=X,x` is X to Rack and `X,x` to PHP: a verified bob who sends it with alice's
    password in the query gets nothing of alice's, and neither does an outsider."""
    bob = verified(env, "bob", prelogin=True)
    jar = dict(bob.cookies)
    jar["PHPSESSID"] = jar["PHPSESSID"] + ",x"
    answer = send(env.gw.port, "GET", f"/index.php?{query('alice')}",
                  [("Cookie", cookie_header(jar))], source_ip=fresh_client_ip())
    assert PRIVATE + " alice" not in answer.text, f"bob read alice's page: {answer!r}"
    outsider = send(env.gw.port, "GET", f"/index.php?{query('alice')}",
                    [("Cookie", "PHPSESSID=attackerchosen1,x")], source_ip=fresh_client_ip())
    assert PRIVATE not in outsider.text, outsider
    assert is_challenge(outsider), outsider


def test_a_login_cookie_without_a_path_is_asked_about_wherever_the_request_went(env):
    """The app sets `auth` without Path, so a browser keeps it for the request's directory; a
    sign-in at /index.php/x/ is still asked about with it, and withheld."""
    answer = send(env.gw.port, "GET", f"/index.php/x/?{query('alice')}", source_ip=fresh_client_ip())
    assert PRIVATE not in answer.text, f"the signed-in page passed without a code: {answer!r}"
    assert is_challenge(answer), answer
    assert challenged_users(env.gw, answer) == [("alice", "verify")]


def test_the_user_name_field_in_the_query_is_refused_even_when_the_body_is_not_read(env):
    """An upload to the login path with the login's field in the query: refused before the app
    acts on it (PHP's $_REQUEST would sign in and store the upload as alice)."""
    answer = send(env.gw.port, "POST", f"/login.php?upload=1&{query('alice')}",
                  [("Content-Type", "application/octet-stream")], b"x" * 70,
                  source_ip=fresh_client_ip())
    assert answer.status == 400, answer


def test_a_content_type_php_cuts_at_a_space_is_read_as_the_form_it_is(env):
    """PHP takes `application/x-www-form-urlencoded x` for a form: the gateway reads it too, as
    strictly as any login body (refused here), so no login slips past its name throttle."""
    answer = send(env.gw.port, "POST", "/login.php", [("Content-Type", FORM + " x")],
                  query("bob", "wrong").encode(), source_ip=fresh_client_ip())
    assert answer.status == 400, answer


def test_under_the_typed_name_a_query_string_login_at_the_login_page_is_not_anonymous(typed_gw):
    """The login page is where the config says anonymous sessions start; a request there whose
    query names a user (this app signs in from it) is not believed anonymous."""
    answer = send(typed_gw.port, "GET", f"/login.php?{query('alice')}", source_ip=fresh_client_ip())
    assert not app_cookies_set(answer, ["PHPSESSID", "auth"]), answer
    assert answer.status == 403, answer
