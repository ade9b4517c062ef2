"""The bypasses an attacker's review of issue 17 found, against a legacy wiki (tests/php/wiki,
served by `php -S`) behind tests/php/wiki.yaml: one entry point where the login and every write
go (POST /index.php), a session started on every page and signed in at login under the same id,
a cosmetic `wiki_user` cookie as the login's sign, and a reset link that signs in. Through the
gateway a password alone gets nothing of the account, a cookie planted beside a verified one
ends no session, and paths checked for nothing carry no session."""
import os
import re
import socket
import urllib.parse

import pytest

from gwkit import (
    PASSWORD, GatewayProcess, client, fresh_client_ip, is_challenge, send, totp,
)

HERE = os.path.dirname(os.path.abspath(__file__))
WIKI_CONFIG = os.path.join(HERE, "wiki.yaml")
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def form(fields):
    return urllib.parse.urlencode(fields).encode()


def token_of(text):
    return re.search(r'name="token" value="([^"]+)"', text).group(1)


@pytest.fixture(scope="module")
def wiki(wiki_site, tmp_path_factory):
    gw = GatewayProcess(wiki_site.url, str(tmp_path_factory.mktemp("php-wiki")), config=WIKI_CONFIG)
    gw.site = wiki_site
    gw.codes = {}
    try:
        for user in ("alice", "bob"):
            s = client()
            page = s.get(f"{gw.url}/index.php?action=login")
            r = s.post(f"{gw.url}/index.php", allow_redirects=False, headers={"Accept": "application/json"},
                       data={"action": "login", "token": token_of(page.text), "user": user,
                             "password": PASSWORD})
            body = r.json()
            assert body.get("enrollment_required") is True, r.text[:300]
            done = s.post(f"{gw.url}/.mfa/api/enroll", allow_redirects=False,
                          json={"ephemeral_token": body["ephemeral_token"], "code": totp(body["secret"])})
            assert done.status_code == 302, done.text[:300]
            assert "Hello, " + user in s.get(f"{gw.url}/index.php").text
            gw.codes[user] = list(done.json()["backup_codes"])
        yield gw
    finally:
        gw.stop()


def anonymous_session(gw, ip):
    """The login page's session id and form token, as a browser gets them."""
    page = send(gw.port, "GET", "/index.php?action=login", source_ip=ip)
    sid = re.search(r"PHPSESSID=([^;]+)", page.get("set-cookie") or "").group(1)
    return sid, token_of(page.text)


def test_a_pre_login_session_a_withheld_login_signed_in_opens_nothing(wiki):
    """The app signs in the login page's session id itself; after a login the gateway withholds,
    that id no longer reaches the app, on the login route either (a preview or an edit there
    would run as alice without her code)."""
    ip = fresh_client_ip()
    sid, token = anonymous_session(wiki, ip)
    cookie = ("Cookie", f"PHPSESSID={sid}")
    login = send(wiki.port, "POST", "/index.php", [FORM, cookie],
                 form({"action": "login", "token": token, "user": "alice", "password": PASSWORD}),
                 source_ip=ip)
    assert is_challenge(login), login
    # Nor in a spelling PHP decodes to the same id (its last character percent-encoded).
    encoded = sid[:-1] + "%{:02X}".format(ord(sid[-1]))
    for value in (sid, encoded):
        for action in ("preview", "edit"):
            answer = send(wiki.port, "POST", "/index.php", [FORM, ("Cookie", f"PHPSESSID={value}")],
                          form({"action": action, "token": token, "page": "Home", "content": "no code"}),
                          source_ip=ip)
            assert "alice" not in answer.text, (value, action, answer)
            assert answer.status in (400, 403), (value, action, answer)


def test_a_login_that_signs_the_session_in_without_a_cookie_is_still_withheld(wiki):
    """The app's API login (format=json) signs the pre-login session in where it is and sets
    no cookie, so the rule does not see a success: the app is asked, names alice, and the
    answer waits for her code; the session id opens nothing meanwhile."""
    ip = fresh_client_ip()
    sid, token = anonymous_session(wiki, ip)
    cookie = ("Cookie", f"PHPSESSID={sid}")
    login = send(wiki.port, "POST", "/index.php", [FORM, cookie, ("Accept", "application/json")],
                 form({"action": "login", "format": "json", "token": token, "user": "alice",
                       "password": PASSWORD}), source_ip=ip)
    assert is_challenge(login), login
    assert "Success" not in login.text, login
    answer = send(wiki.port, "POST", "/index.php", [FORM, cookie],
                  form({"action": "preview", "token": token, "page": "Home"}), source_ip=ip)
    assert "alice" not in answer.text, answer


def test_pre_login_skip_is_believed_only_where_anonymous_sessions_start(wiki_site, tmp_path):
    """With `whoami.pre_login: skip` (here, wrongly: the wiki's session is its sign-in), the
    reset link's new session is still asked about: it is not where anonymous sessions start."""
    text = open(WIKI_CONFIG).read().replace(
        "          json_pointer: /user\n", "          json_pointer: /user\n          pre_login: skip\n")
    config = tmp_path / "wiki-skip.yaml"
    config.write_text(text)
    gw = GatewayProcess(wiki_site.url, str(tmp_path), config=str(config))
    try:
        answer = send(gw.port, "GET", "/reset.php?user=alice&token=reset-alice",
                      source_ip=fresh_client_ip())
        assert "private notes" not in answer.text, answer
        assert is_challenge(answer), answer
    finally:
        gw.stop()


def test_a_verified_users_large_edits_never_lock_anyones_sign_in(wiki):
    """Edits larger than the login read limit from a verified session are not read; the ones
    the app does not answer as a login count against that session's own budget only."""
    s = client()
    page = s.get(f"{wiki.url}/index.php?action=login")
    r = s.post(f"{wiki.url}/index.php", allow_redirects=False, headers={"Accept": "application/json"},
               data={"action": "login", "token": token_of(page.text), "user": "bob", "password": PASSWORD})
    done = s.post(f"{wiki.url}/.mfa/api/verify", allow_redirects=False,
                  json={"ephemeral_token": r.json()["ephemeral_token"], "code": wiki.codes["bob"].pop()})
    assert done.status_code in (200, 302), done.text[:300]
    token = token_of(s.get(f"{wiki.url}/index.php?action=login").text)
    for _ in range(6):
        s.post(f"{wiki.url}/index.php", allow_redirects=False,
               data={"action": "edit", "token": token, "page": "Big", "content": "x" * (1100 * 1024)})
    other = client()
    page = other.get(f"{wiki.url}/index.php?action=login")
    login = other.post(f"{wiki.url}/index.php", allow_redirects=False,
                       data={"action": "login", "token": token_of(page.text), "user": "bob",
                             "password": PASSWORD})
    assert login.status_code == 303, (login.status_code, login.text[:300])


def test_two_values_of_the_pre_login_session_in_one_login_are_refused(wiki):
    """PHP signs in the first value; the gateway would bind both with the login."""
    ip = fresh_client_ip()
    first, token = anonymous_session(wiki, ip)
    second, _ = anonymous_session(wiki, ip)
    answer = send(wiki.port, "POST", "/index.php",
                  [FORM, ("Cookie", f"PHPSESSID={first}; PHPSESSID={second}")],
                  form({"action": "login", "token": token, "user": "bob", "password": PASSWORD}),
                  source_ip=ip)
    assert answer.status == 400, answer


def test_a_reset_link_that_signs_in_is_withheld_behind_the_users_factor(wiki):
    """Only the session cookie is new in the reset link's answer: the app is asked, and the
    page (alice's private notes) waits for alice's code."""
    ip = fresh_client_ip()
    answer = send(wiki.port, "GET", "/reset.php?user=alice&token=reset-alice", source_ip=ip)
    assert "private notes" not in answer.text, answer
    assert is_challenge(answer), answer
    recs = wiki.records_for(answer.get("x-request-id"), "login_intercepted")
    assert [(r["user"], r.get("step")) for r in recs] == [("alice", "verify")], recs


def test_a_cookie_planted_beside_the_bound_one_ends_no_session(wiki):
    """A second PHPSESSID (from a sibling domain) goes; the bound one still reaches the app."""
    s = client()
    page = s.get(f"{wiki.url}/index.php?action=login")
    r = s.post(f"{wiki.url}/index.php", allow_redirects=False, headers={"Accept": "application/json"},
               data={"action": "login", "token": token_of(page.text), "user": "bob", "password": PASSWORD})
    body = r.json()
    done = s.post(f"{wiki.url}/.mfa/api/verify", allow_redirects=False,
                  json={"ephemeral_token": body["ephemeral_token"], "code": wiki.codes["bob"].pop()})
    assert done.status_code in (200, 302), done.text[:300]
    jar = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    answer = send(wiki.port, "GET", "/index.php", [("Cookie", jar + "; PHPSESSID=planted")])
    assert "Hello, bob" in answer.text, answer
    again = send(wiki.port, "GET", "/index.php", [("Cookie", jar)])
    assert "Hello, bob" in again.text, again
    assert not wiki.records_for(answer.get("x-request-id"), "session_ended", timeout=0.5)


def test_a_path_checked_for_nothing_carries_no_session(wiki):
    """/assets/ is a bypass path, and PHP's server answers unknown paths with index.php: a
    session obtained from the app directly is not passed there."""
    direct = client()
    page = direct.get(f"{wiki.site.url}/index.php?action=login")
    direct.post(f"{wiki.site.url}/index.php", allow_redirects=False,
                data={"action": "login", "token": token_of(page.text), "user": "alice", "password": PASSWORD})
    assert "Hello, alice" in direct.get(f"{wiki.site.url}/index.php").text
    sid = direct.cookies["PHPSESSID"]
    answer = send(wiki.port, "GET", "/assets/x", [("Cookie", f"PHPSESSID={sid}")])
    assert "Hello, alice" not in answer.text, answer


def test_the_login_throttle_counts_every_spelling_the_app_may_read_as_one_name(wiki):
    """`alice.`, `_alice` or `a-l-i-c-e` draw on alice's budget of refused logins."""
    ip = fresh_client_ip()
    spellings = ["alice.", "_alice", "a-l-i-c-e", "ALICE!", "al.ice", "alice:"]
    statuses = []
    for typed in spellings:
        sid, token = anonymous_session(wiki, ip)
        answer = send(wiki.port, "POST", "/index.php", [FORM, ("Cookie", f"PHPSESSID={sid}")],
                      form({"action": "login", "token": token, "user": typed, "password": "wrong"}),
                      source_ip=fresh_client_ip())
        statuses.append(answer.status)
    assert statuses[-1] == 429, statuses


def test_a_login_body_padded_past_the_limit_is_refused_without_a_session(wiki):
    """Only signed-in users send bodies that large; a padded login from anyone else is 413,
    not streamed past the name throttle."""
    ip = fresh_client_ip()
    sid, token = anonymous_session(wiki, ip)
    body = form({"action": "login", "token": token, "user": "bob", "password": "wrong",
                 "pad": "p" * (1100 * 1024)})
    head = (f"POST /index.php HTTP/1.1\r\nHost: wiki\r\nContent-Type: {FORM[1]}\r\n"
            f"Cookie: PHPSESSID={sid}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    # The gateway answers by the declared length and may close before the body is all sent.
    with socket.create_connection(("127.0.0.1", wiki.port), timeout=10, source_address=(ip, 0)) as s:
        s.sendall(head)
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status_line = s.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
