"""A real PHP app (tests/php/app, served by `php -S`) behind the gateway with
config/examples/cookie-session.yaml unchanged: the second factor on its form login, and the
gateway agreeing with PHP (SECURITY-TESTS.md items 25, 28, 29) on the login route however it is
spelled, on a session PHP starts on another path (a password-reset link), and on PHPSESSID under
every name PHP might read it by."""
import re
import urllib.parse

import pytest
import requests

from gwkit import (
    COOKIE_EXAMPLE, PASSWORD, GatewayProcess, app_cookies_set, client, enrollment_secret,
    form_value, fresh_client_ip, is_challenge, recovery_codes, send, set_cookies, totp,
)
from phpkit import RESET_TOKENS

FORM = "application/x-www-form-urlencoded"


def php_login(session, base, user, password=PASSWORD, path="/login.php"):
    return session.post(f"{base}{path}", data={"user": user, "password": password},
                        allow_redirects=False)


def enroll(base, user):
    s = requests.Session()
    answer = php_login(s, base, user)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/enroll", answer.text[:300]
    assert "PHPSESSID" not in s.cookies
    page = s.get(f"{base}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = s.post(f"{base}/.mfa/enroll", data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    codes = recovery_codes(codes_page.text)
    assert len(codes) == 10
    released = s.post(f"{base}/.mfa/enroll/done", allow_redirects=False,
                      data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    assert released.status_code == 302 and released.headers["location"] == "/index.php"
    assert "PHPSESSID" in s.cookies
    return s, secret, codes


class Env:
    pass


@pytest.fixture(scope="module")
def env(php_site, tmp_path_factory):
    gw = GatewayProcess(php_site.url, str(tmp_path_factory.mktemp("php-agreement")), config=COOKIE_EXAMPLE)
    try:
        e = Env()
        e.site, e.gw, e.codes, e.sessions = php_site, gw, {}, {}
        for user in ("alice", "bob"):
            s, _, codes = enroll(gw.url, user)
            e.codes[user], e.sessions[user] = list(codes), s
        yield e
    finally:
        gw.stop()


def verified(env, user):
    s = client()
    answer = php_login(s, env.gw.url, user)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify", answer.text[:300]
    page = s.get(f"{env.gw.url}/.mfa/verify")
    ok = s.post(f"{env.gw.url}/.mfa/verify", allow_redirects=False,
                data={"csrf": form_value(page.text, "csrf"), "code": env.codes[user].pop()})
    assert ok.status_code == 302 and ok.headers["location"] == "/index.php", ok.text[:300]
    assert whoami(env, s.cookies) == user
    return s


def cookie_header(cookies):
    return "; ".join(f"{k}={v}" for k, v in dict(cookies).items())


def whoami(env, cookies, ip=None):
    """Whom PHP sees for these cookies through the gateway; None also when the gateway ended
    the session because PHP no longer has its user (identity.whoami.after_each_answer)."""
    header = cookie_header(cookies)
    headers = [("Accept", "application/json")] + ([("Cookie", header)] if header else [])
    r = send(env.gw.port, "GET", "/whoami.php", headers, source_ip=ip)
    if r.status == 403 and r.json().get("error") == "sign_in_required":
        return None
    assert r.status == 200, r
    return r.json()["user"]


def assert_no_php_session(answer):
    assert not app_cookies_set(answer, ["PHPSESSID"]), f"PHP's session reached the client: {answer!r}"


def login_body(user="alice"):
    return f"user={urllib.parse.quote_plus(user)}&password={urllib.parse.quote_plus(PASSWORD)}".encode()


def test_the_php_login_needs_the_second_factor(env):
    s = client()
    wrong = php_login(s, env.gw.url, "alice", "wrong")
    assert wrong.status_code == 200 and "Wrong user name or password" in wrong.text
    answer = php_login(s, env.gw.url, "Alice")     # PHP ignores case; so does the gateway here
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"
    assert "PHPSESSID" not in s.cookies
    assert "Not logged in" in s.get(f"{env.gw.url}/index.php").text
    page = s.get(f"{env.gw.url}/.mfa/verify")
    ok = s.post(f"{env.gw.url}/.mfa/verify", allow_redirects=False,
                data={"csrf": form_value(page.text, "csrf"), "code": env.codes["alice"].pop()})
    assert ok.status_code == 302 and ok.headers["location"] == "/index.php"
    assert "Welcome, alice" in s.get(f"{env.gw.url}/index.php").text
    out = s.get(f"{env.gw.url}/logout.php", allow_redirects=False)
    assert out.status_code == 302
    assert "Not logged in" in s.get(f"{env.gw.url}/index.php").text


# --- 25: the login route spelled another way ---------------------------------------------------

@pytest.mark.parametrize("path", [
    "/%6Cogin.php", "/login%2Ephp", "/log%69n.php", "/LOGIN.PHP", "/Login.php", "/login.php/x",
    "/login.php;x=1", "/login.php?x=1", "/./login.php",
])
def test_a_login_path_spelled_otherwise_is_challenged_or_refused(env, path):
    ip = fresh_client_ip()
    answer = send(env.gw.port, "POST", path, [("Content-Type", FORM)], login_body(), source_ip=ip)
    assert_no_php_session(answer)
    if is_challenge(answer):
        recs = env.gw.records_for(answer.get("x-request-id"), "login_intercepted")
        assert [(r["user"], r["step"]) for r in recs] == [("alice", "verify")], recs
    else:
        assert 400 <= answer.status < 500, answer
    jar = {n: v for n, v, _ in set_cookies(answer) if v}
    assert whoami(env, jar, ip) is None


# --- 28: a verified bob must not become alice ------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("POST", "/%6Cogin.php"),
    ("POST", "/login.php/x"),
    ("POST", "/login.php"),
    ("GET", f"/reset.php?user=alice&token={RESET_TOKENS['alice']}"),
])
def test_bob_with_alices_password_or_reset_link_does_not_become_alice(env, method, path):
    bob = verified(env, "bob")
    ip = fresh_client_ip()
    headers = [("Cookie", cookie_header(bob.cookies))]
    if method == "POST":
        answer = send(env.gw.port, "POST", path, [*headers, ("Content-Type", FORM)], login_body(), source_ip=ip)
    else:
        answer = send(env.gw.port, "GET", path, headers, source_ip=ip)
    assert_no_php_session(answer)
    jar = dict(bob.cookies)
    jar.update({n: v for n, v, _ in set_cookies(answer) if v})
    assert whoami(env, jar, ip) in ("bob", None)
    assert whoami(env, bob.cookies) in ("bob", None)
    assert "Welcome, alice" not in send(env.gw.port, "GET", "/index.php",
                                        [("Cookie", cookie_header(jar))]).text


def test_a_reset_link_reusing_bobs_session_id_does_not_make_bob_alice(env):
    bob = verified(env, "bob")
    path = f"/reset.php?user=alice&token={RESET_TOKENS['alice']}&keep=1"
    answer = send(env.gw.port, "GET", path, [("Cookie", cookie_header(bob.cookies))],
                  source_ip=fresh_client_ip())
    # PHP put alice into bob's session without a new id; the gateway asks PHP after the
    # answer (identity.whoami.after_each_answer), refuses it and ends bob's session.
    assert answer.status == 403, answer
    assert "alice" not in answer.text, answer
    assert_no_php_session(answer)
    assert whoami(env, bob.cookies) is None
    recs = env.gw.records_for(answer.get("x-request-id"))
    assert [(r["event"], r["user"], r.get("reason")) for r in recs] == [
        ("change_begun", "bob", "the app session changed hands"),
        ("session_ended", "bob", "the app session changed hands")], recs


# --- 28: a session PHP starts on another path ------------------------------------------------------

def test_a_session_from_the_reset_link_is_refused_or_withheld(env):
    """The reset link's answer comes out without PHP's session: refused whole, or (the config
    asks PHP who signed in) withheld behind alice's own second factor."""
    ip = fresh_client_ip()
    answer = send(env.gw.port, "GET", f"/reset.php?user=alice&token={RESET_TOKENS['alice']}", [], source_ip=ip)
    assert_no_php_session(answer)
    recs = env.gw.records_for(answer.get("x-request-id"))
    if is_challenge(answer):
        assert [(r["event"], r["user"], r.get("step")) for r in recs] == [
            ("login_intercepted", "alice", "verify")], recs
    else:
        assert answer.status == 403, answer
        assert [r["event"] for r in recs] == ["app_session_refused"], recs
    jar = {n: v for n, v, _ in set_cookies(answer) if v}
    page = send(env.gw.port, "GET", "/index.php", [("Cookie", cookie_header(jar))] if jar else [], source_ip=ip)
    assert "Not logged in" in page.text, page


# --- 29: PHPSESSID under other names ---------------------------------------------------------------

def minted_directly(env, user="alice"):
    """A PHP session for `user` straight from the app, around the gateway."""
    r = send(env.site.port, "POST", "/login.php", [("Content-Type", FORM)], login_body(user))
    assert r.status == 302, r
    [(_, value)] = app_cookies_set(r, ["PHPSESSID"])
    page = send(env.site.port, "GET", "/index.php", [("Cookie", f"PHPSESSID={value}")])
    assert f"Welcome, {user}" in page.text
    return value


COOKIE_SPELLINGS = [
    "PHPSESSID={v}", "PHPSESS%49D={v}", "phpsessid={v}", "PHPSESSID ={v}", " PHPSESSID={v}",
    "PHPSESSID= {v}", "a=b, PHPSESSID={v}", "a=b,PHPSESSID={v}", "PHP.SESSID={v}",
    "PHPSESSID=x; PHPSESSID={v}", "PHPSESSID={v}; PHPSESSID=x", "PHPSESSID=%{hex}{rest}",
    'PHPSESSID="{v}"', "PHPSESSID[]={v}", "PHPSESSID\t={v}",
]


@pytest.mark.parametrize("spelling", COOKIE_SPELLINGS)
def test_a_php_session_minted_directly_is_stripped_under_any_name(env, spelling):
    value = minted_directly(env)
    cookie = spelling.format(v=value, hex="%02X" % ord(value[0]), rest=value[1:])
    answer = send(env.gw.port, "GET", "/index.php", [("Cookie", cookie)], source_ip=fresh_client_ip())
    assert answer.status == 200, answer
    assert "Welcome" not in answer.text, f"{cookie!r} reached PHP as alice"
    assert "Not logged in" in answer.text


def test_a_php_session_in_two_cookie_lines_is_stripped(env):
    value = minted_directly(env)
    for lines in (["a=b", f"PHPSESSID={value}"], [f"PHPSESSID={value}", "a=b"]):
        answer = send(env.gw.port, "GET", "/index.php", [("Cookie", line) for line in lines],
                      source_ip=fresh_client_ip())
        assert "Welcome" not in answer.text and (answer.status == 400 or "Not logged in" in answer.text), answer


def test_a_php_session_in_the_query_string_is_not_used(env):
    value = minted_directly(env)
    answer = send(env.gw.port, "GET", f"/index.php?PHPSESSID={value}", [], source_ip=fresh_client_ip())
    assert "Welcome" not in answer.text


def test_a_released_php_session_still_works_after_all_this(env):
    s = verified(env, "alice")
    assert "Welcome, alice" in s.get(f"{env.gw.url}/index.php").text
    assert re.search(r"Welcome, alice", send(env.gw.port, "GET", "/index.php",
                                             [("Cookie", cookie_header(s.cookies))]).text)
