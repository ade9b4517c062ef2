"""The gateway and Django must agree on what a request is (SECURITY-TESTS.md items 25-29): the
login route however it is spelled, the user name however it is written, the body however it is
encoded, the session cookie however it is named, and a session Django starts on any other path.
Against the real Django admin and Django REST framework's token login, through the gateway with
config/examples/django-drf.yaml unchanged; alice and bob are enrolled first, so that a login's
challenge for them is at the verify step."""
import json
import urllib.parse

import pytest
import requests

from gwkit import (
    DRF_EXAMPLE, PASSWORD, GatewayProcess, app_cookies_set, client, django_csrf, form_value,
    fresh_client_ip, is_challenge, send, set_cookies,
)
from shapes import CHROME, cd, multipart
from test_django_admin import django_login, enroll

FORM = "application/x-www-form-urlencoded"


class Env:
    pass


@pytest.fixture(scope="module")
def env(django_site, tmp_path_factory):
    django_site.ensure_admins("alice", "bob")
    gw = GatewayProcess(django_site.url, str(tmp_path_factory.mktemp("agreement")), config=DRF_EXAMPLE)
    try:
        e = Env()
        e.site, e.gw = django_site, gw
        e.codes = {}
        for user in ("alice", "bob"):
            _, codes = enroll(requests.Session(), gw.url, user)
            e.codes[user] = list(codes)
        e.csrf_cookie, e.csrf_token = django_csrf(django_site.url)
        yield e
    finally:
        gw.stop()


def recovery_code(env, user):
    return env.codes[user].pop()


def verified(env, user):
    """A client signed in as `user` through the gateway (password, then a recovery code)."""
    s = client()
    answer = django_login(s, env.gw.url, user)
    assert answer.headers["location"] == "/.mfa/verify", answer.text[:300]
    page = s.get(f"{env.gw.url}/.mfa/verify")
    ok = s.post(f"{env.gw.url}/.mfa/verify", allow_redirects=False, data={
        "csrf": form_value(page.text, "csrf"), "code": recovery_code(env, user)})
    assert ok.status_code == 302, ok.text[:300]
    assert whoami(env, s.cookies) == user
    return s


def whoami(env, cookies, ip=None):
    """Whom Django sees behind the gateway for these cookies."""
    header = "; ".join(f"{k}={v}" for k, v in dict(cookies).items())
    r = send(env.gw.port, "GET", "/whoami/", [("Cookie", header)] if header else [], source_ip=ip)
    assert r.status == 200, r
    return r.json()["user"]


def post_login(env, path, body, content_type=FORM, cookies=None, ip=None, extra=()):
    cookie = f"csrftoken={env.csrf_cookie}"
    if cookies:
        cookie += "; " + "; ".join(f"{k}={v}" for k, v in dict(cookies).items() if k != "csrftoken")
    headers = [("Cookie", cookie), ("X-CSRFToken", env.csrf_token), *extra]
    if content_type:
        headers.append(("Content-Type", content_type))
    return send(env.gw.port, "POST", path, headers, body, source_ip=ip)


def alice_form(name="alice"):
    return f"username={urllib.parse.quote_plus(name)}&password={urllib.parse.quote_plus(PASSWORD)}".encode()


def assert_no_app_session(answer):
    assert not app_cookies_set(answer, ["sessionid"]), f"Django's session reached the client: {answer!r}"


def intercepted(env, answer):
    """The login_intercepted records of the request this answer is for."""
    return env.gw.records_for(answer.get("x-request-id"), "login_intercepted")


def assert_challenged(env, answer, user, step="verify"):
    assert is_challenge(answer), answer
    recs = [r for r in intercepted(env, answer) if r["outcome"] == "challenge"]
    assert [(r["user"], r["step"]) for r in recs] == [(user, step)], recs
    if answer.status in (302, 303):
        assert answer.get("location") == f"/.mfa/{step}"


def assert_challenged_or_refused(env, answer, user, app_signs_in=True):
    """A login Django would accept (`app_signs_in`) is challenged for `user` or refused; one it
    would not may also come back as Django answered it, without a session."""
    assert_no_app_session(answer)
    if is_challenge(answer):
        assert_challenged(env, answer, user)
    elif app_signs_in:
        assert 400 <= answer.status < 500, answer


def django_signs_in(env, path, body, content_type=FORM):
    """Whom Django itself signs in for this login request (sent around the gateway)."""
    headers = [("Cookie", f"csrftoken={env.csrf_cookie}"), ("X-CSRFToken", env.csrf_token)]
    if content_type:
        headers.append(("Content-Type", content_type))
    answer = send(env.site.port, "POST", path, headers, body)
    cookies = app_cookies_set(answer, ["sessionid"])
    if not cookies:
        return None
    r = send(env.site.port, "GET", "/whoami/", [("Cookie", f"sessionid={cookies[-1][1]}")])
    return r.json()["user"]


# --- 25: the login route spelled another way ---------------------------------------------------

LOGIN_SPELLINGS = [
    "/admin/%6Cogin/", "/%61dmin/login/", "/admin/%6cogin/", "/ADMIN/LOGIN/", "/Admin/Login/",
    "/admin/login", "/admin/login/;x=1", "/admin;x=1/login/", "/admin/login/?next=/admin/",
]


@pytest.mark.parametrize("path", LOGIN_SPELLINGS)
def test_a_login_path_spelled_otherwise_is_challenged_or_refused(env, path):
    ip = fresh_client_ip()
    signs_in = django_signs_in(env, path, alice_form())
    answer = post_login(env, path, alice_form(), ip=ip)
    assert_challenged_or_refused(env, answer, "alice", signs_in is not None)
    # Whatever the client got, it is not alice at Django.
    jar = {n: v for n, v, _ in set_cookies(answer)}
    assert whoami(env, jar, ip) is None


# --- 28: a verified session (bob) must not turn into alice's -------------------------------------

ALICE_SIGN_INS = [
    ("POST", "/admin/%6Cogin/"),
    ("POST", "/%61dmin/login/"),
    ("POST", "/admin/login/"),
    ("GET", "/magic/?user=alice&token=magic-alice"),
]


@pytest.mark.parametrize("method,path", ALICE_SIGN_INS)
def test_bob_sending_alices_password_does_not_become_alice(env, method, path):
    bob = verified(env, "bob")
    ip = fresh_client_ip()
    if method == "POST":
        answer = post_login(env, path, alice_form(), cookies=bob.cookies, ip=ip)
    else:
        cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
        answer = send(env.gw.port, "GET", path, [("Cookie", cookie)], source_ip=ip)
    assert_no_app_session(answer)
    if is_challenge(answer):
        assert_challenged(env, answer, "alice")
    # bob's cookies plus whatever this answer set: Django never sees alice.
    jar = dict(bob.cookies)
    jar.update({n: v for n, v, _ in set_cookies(answer) if v})
    assert whoami(env, jar, ip) in ("bob", None)
    assert whoami(env, bob.cookies) in ("bob", None)
    page = send(env.gw.port, "GET", "/admin/", [("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))])
    assert "alice" not in page.text


# --- 26: the user name as Django reads it ------------------------------------------------------

@pytest.mark.parametrize("typed", ["ａｌｉｃｅ", "ａlice", "aℓice", "ᵃlice", " alice "])
def test_a_name_django_reads_as_alice_gets_alices_verify_challenge(env, typed):
    answer = post_login(env, "/admin/login/", alice_form(typed), ip=fresh_client_ip())
    assert_no_app_session(answer)
    assert_challenged(env, answer, "alice", "verify")
    recs = env.gw.records_for(answer.get("x-request-id"))
    assert not [r for r in recs if r["event"] == "enrollment_started"], recs


# Control characters, and space at the ends that Python strips but PHP and Ruby keep (which
# account such a name is depends on the app): refused.
@pytest.mark.parametrize("typed", ["alice\x1f", "\x1calice", "alice\x1d", "\x1ealice", "alice\x00",
                                   "alice\xa0", "\u3000alice"])
def test_a_name_with_control_characters_is_refused(env, typed):
    answer = post_login(env, "/admin/login/", alice_form(typed), ip=fresh_client_ip())
    assert_no_app_session(answer)
    assert answer.status == 400, answer


# --- 27: bodies two parsers read differently ----------------------------------------------------

def double_boundary():
    a, c = "AaAaAaAa", "CcCcCcCc"
    body = (multipart([([cd("username")], "bob"), ([cd("password")], PASSWORD)], a)
            + multipart([([cd("username")], "alice"), ([cd("password")], PASSWORD)], c))
    return body, f"multipart/form-data; boundary={a}; boundary={c}"


def mp(parts, **kw):
    return multipart(parts, CHROME, **kw), f"multipart/form-data; boundary={CHROME}"


P = [cd("password")], PASSWORD
AMBIGUOUS = {
    "multipart double boundary": double_boundary(),
    "username twice": (b"username=bob&" + alice_form(), FORM),
    "username[]": (b"username[]=alice&password=" + urllib.parse.quote_plus(PASSWORD).encode(), FORM),
    "username and username[]": (b"username[]=bob&" + alice_form(), FORM),
    "charset=utf-16": (alice_form().decode().encode("utf-16"), f"{FORM}; charset=utf-16"),
    "charset=utf-7": (b"username=+AGE-lice&password=correct%20horse%20battery%20staple", f"{FORM}; charset=utf-7"),
    "charset=latin-1": (alice_form(), f"{FORM}; charset=latin-1"),
    "JSON under a form type": (json.dumps({"username": "alice", "password": PASSWORD}).encode(), FORM),
    "multipart preamble": mp([([cd("username")], "alice"), P], preamble="preamble\r\n"),
    "multipart epilogue": mp([([cd("username")], "alice"), P], epilogue="epilogue\r\n"),
    "multipart Content-Transfer-Encoding": mp([([cd("username"), "Content-Transfer-Encoding: base64"], "YWxpY2U="), P]),
    "multipart name*=": mp([([cd("username")], "bob"), (["Content-Disposition: form-data; name*=UTF-8''username"], "alice"), P]),
    "multipart _charset_": mp([([cd("_charset_")], "utf-16"), ([cd("username")], "alice".encode("utf-16")), P]),
    "multipart LF-only": mp([([cd("username")], "alice"), P], nl="\n"),
    "multipart username twice": mp([([cd("username")], "bob"), ([cd("username")], "alice"), P]),
}


@pytest.mark.parametrize("label", list(AMBIGUOUS))
def test_an_ambiguous_login_body_is_refused(env, label):
    body, ctype = AMBIGUOUS[label]
    answer = post_login(env, "/admin/login/", body, content_type=ctype, ip=fresh_client_ip())
    assert_no_app_session(answer)
    assert answer.status == 400, answer


# --- the DRF token login --------------------------------------------------------------------------

def token_login(env, path, body, content_type="application/json", ip=None, extra=()):
    headers = [("Accept", "application/json"), *extra]
    if content_type:
        headers.append(("Content-Type", content_type))
    return send(env.gw.port, "POST", path, headers, body, source_ip=ip or fresh_client_ip())


def direct_token(env, user):
    r = requests.post(f"{env.site.url}/api/token/", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def assert_no_token(env, answer):
    for user in ("alice", "bob"):
        assert direct_token(env, user).encode() not in answer.body, answer
    try:
        assert "token" not in json.loads(answer.body)
    except ValueError:
        pass


def test_a_json_token_login_gets_alices_challenge(env):
    answer = token_login(env, "/api/token/", json.dumps({"username": "alice", "password": PASSWORD}).encode())
    assert answer.status == 200, answer
    assert answer.json()["mfa_required"] is True
    assert_no_token(env, answer)
    assert_challenged(env, answer, "alice")


def test_a_json_body_under_a_form_type_is_refused_by_the_token_login(env):
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    answer = token_login(env, "/api/token/", body, content_type=FORM)
    assert answer.status == 400, answer
    assert_no_token(env, answer)


@pytest.mark.parametrize("accept,status", [("text/html", 502), ("application/json", 403)])
def test_a_token_endpoint_the_rules_miss_hands_out_nothing(env, accept, status):
    """A second DRF token endpoint no login rule names: in JSON the gateway sees the token and
    cannot tell whose it is (403); rendered as the browsable API's HTML it cannot look for it, so
    a token app's non-JSON answer to a write is refused (502). DRF's tokens are static, so a
    token seen once would work as soon as its user signs in through the gateway."""
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    direct = requests.post(f"{env.site.url}/api/v2/login/", data=body,
                           headers={"Content-Type": "application/json", "Accept": accept})
    assert direct.status_code == 200 and direct_token(env, "alice") in direct.text, direct.text[:300]
    answer = send(env.gw.port, "POST", "/api/v2/login/",
                  [("Accept", accept), ("Content-Type", "application/json")], body,
                  source_ip=fresh_client_ip())
    assert answer.status == status, answer
    assert_no_token(env, answer)


@pytest.mark.parametrize("label,body,ctype", [
    ("form", alice_form(), FORM),
    ("multipart", *mp([([cd("username")], "alice"), P])),
    ("duplicate keys", b'{"username": "bob", "username": "alice", "password": "%s"}' % PASSWORD.encode(), "application/json"),
    ("name as a number", json.dumps({"username": 1, "password": PASSWORD}).encode(), "application/json"),
    ("utf-16", json.dumps({"username": "alice", "password": PASSWORD}).encode("utf-16"), "application/json; charset=utf-16"),
])
def test_token_login_bodies_read_otherwise_are_refused_or_alices(env, label, body, ctype):
    """DRF reads forms and multipart on its token login too (and JSON in any charset): the gateway
    refuses them or challenges the user DRF signs in."""
    answer = token_login(env, "/api/token/", body, content_type=ctype)
    assert_no_token(env, answer)
    if is_challenge(answer):
        assert_challenged(env, answer, "alice")
    else:
        assert 400 <= answer.status < 500, answer


@pytest.mark.parametrize("path", ["/%61pi/token/", "/api/%74oken/", "/API/token/", "/api;x=1/token/"])
def test_the_token_login_spelled_otherwise_is_challenged_or_refused(env, path):
    """Routed by the plain prefix, `/%61pi/token/` would belong to the admin app, which has no
    token rule: DRF's token would go out with the password alone."""
    answer = token_login(env, path, json.dumps({"username": "alice", "password": PASSWORD}).encode())
    assert_no_token(env, answer)
    if is_challenge(answer):
        assert_challenged(env, answer, "alice")
    else:
        assert 400 <= answer.status < 500, answer


@pytest.mark.parametrize("path", ["/api/whoami/", "/%61pi/whoami/", "/API/whoami/", "/api;x=1/whoami/"])
def test_a_token_obtained_around_the_gateway_is_refused(env, path):
    token = direct_token(env, "alice")
    answer = send(env.gw.port, "GET", path, [("Authorization", f"Token {token}")])
    if answer.status == 200:
        assert answer.json().get("user") != "alice", answer
    else:
        assert 400 <= answer.status < 500, answer


@pytest.mark.parametrize("path", ["/api/whoami/", "/whoami/", "/admin/"])
def test_two_authorization_lines_are_refused(env, path):
    token = direct_token(env, "alice")
    answer = send(env.gw.port, "GET", path, [("Authorization", f"Token {token}"),
                                             ("Authorization", "Basic Ym9iOng=")])
    assert answer.status == 400, answer


# --- 28: a session Django starts elsewhere -------------------------------------------------------

def test_a_session_from_a_magic_link_is_refused_whole(env):
    """The examples take the typed name, so nobody can ask Django whose session a magic link
    started: the whole answer is refused, not passed without its cookie."""
    ip = fresh_client_ip()
    answer = send(env.gw.port, "GET", "/magic/?user=alice&token=magic-alice", [], source_ip=ip)
    assert answer.status == 403, answer
    assert_no_app_session(answer)
    recs = env.gw.records_for(answer.get("x-request-id"))
    assert [r["event"] for r in recs] == ["app_session_refused"], recs


# --- 29: Django's session cookie under other names -----------------------------------------------

@pytest.mark.parametrize("spelling", [
    "sessionid={v}", " sessionid={v}", "sessionid ={v}", "sessionid= {v}", 'sessionid="{v}"',
    "SESSIONID={v}", "session%69d={v}", "a=b, sessionid={v}", "sessionid=x; sessionid={v}",
    "sessionid={v}; sessionid=x",
])
def test_a_session_minted_at_django_directly_is_stripped_under_any_name(env, spelling):
    direct = requests.Session()
    assert django_login(direct, env.site.url, "alice").status_code == 302
    value = direct.cookies["sessionid"]
    cookie = spelling.format(v=value)
    assert send(env.site.port, "GET", "/whoami/", [("Cookie", f"sessionid={value}")]).json()["user"] == "alice"
    answer = send(env.gw.port, "GET", "/whoami/", [("Cookie", cookie)], source_ip=fresh_client_ip())
    assert answer.status == 200, answer
    assert answer.json()["user"] is None, f"{cookie!r} reached Django as alice"
