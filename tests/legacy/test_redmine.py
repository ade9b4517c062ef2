"""Redmine (Debian's package on SQLite) behind the gateway with config/examples/redmine.yaml:
its CSRF-protected login with the pre-login session, then the second factor, pages and forms
while it sends a new session cookie in every answer, "Stay logged in", logout; sessions and
autologin cookies obtained around the gateway, and API keys, are refused; `ADMIN` is admin."""
import re

import pytest
import requests

from legacykit import RUN, gateway_in_front
from gwkit import enrollment_secret, form_value, fresh_client_ip, recovery_codes, send, totp

RM = "http://127.0.0.1:18083"
ADMIN, PASSWORD = "admin", "Adm1n-Pass!"
SIGNED_IN = re.compile(r'Logged in as <a [^>]*>admin</a>')


@pytest.fixture(scope="module")
def rm(legacy_apps, legacy_workdir):
    gw = gateway_in_front(legacy_apps, legacy_workdir, "redmine", RM, "redmine.yaml")
    yield gw
    gw.stop()


def authenticity_token(page):
    return re.search(r'name="authenticity_token" value="([^"]+)"', page).group(1)


def rm_login(session, base, user=ADMIN, password=PASSWORD, autologin=False):
    page = session.get(f"{base}/login")
    assert page.status_code == 200, page.text[:300]
    data = {"authenticity_token": authenticity_token(page.text), "username": user,
            "password": password}
    if autologin:
        data["autologin"] = "1"
    return session.post(f"{base}/login", data=data, allow_redirects=False)


def signed_in(session, base):
    page = session.get(f"{base}/my/page", allow_redirects=False)
    return page.status_code == 200 and SIGNED_IN.search(page.text) is not None


def verify(session, base, code):
    page = session.get(f"{base}/.mfa/verify")
    return session.post(f"{base}/.mfa/verify", allow_redirects=False,
                        data={"csrf": form_value(page.text, "csrf"), "code": code})


@pytest.fixture(scope="module")
def enrolled(rm):
    s = requests.Session()
    answer = rm_login(s, rm.url)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/enroll"
    page = s.get(f"{rm.url}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = s.post(f"{rm.url}/.mfa/enroll",
                        data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    codes = recovery_codes(codes_page.text)
    released = s.post(f"{rm.url}/.mfa/enroll/done", allow_redirects=False,
                      data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    assert released.status_code == 302, released.text[:300]
    assert signed_in(s, rm.url)
    return secret, codes


def test_login_code_pages_and_a_form_while_the_session_cookie_changes(rm, enrolled):
    _, codes = enrolled
    s = requests.Session()
    answer = rm_login(s, rm.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"
    assert not signed_in(s, rm.url)
    assert verify(s, rm.url, codes[0]).status_code == 302
    seen = set()
    for _ in range(4):
        assert signed_in(s, rm.url)
        seen.add(s.cookies["_redmine_session"])
    assert len(seen) > 1, "Redmine sent new session values, and the browser got them"
    # A form of Redmine's own, whose CSRF token is in the newest session value only.
    page = s.get(f"{rm.url}/my/account")
    saved = s.post(f"{rm.url}/my/account", allow_redirects=False, data={
        "_method": "put", "authenticity_token": authenticity_token(page.text),
        "user[firstname]": "Ada", "user[lastname]": "Admin", "user[mail]": "admin@example.net"})
    assert saved.status_code == 302, (saved.status_code, saved.text[:300])
    assert signed_in(s, rm.url)


def test_a_wrong_password_is_redmines_error(rm, enrolled):
    s = requests.Session()
    answer = rm_login(s, rm.url, password="wrong")
    assert answer.status_code == 200 and "Invalid user or password" in answer.text


def test_the_login_in_another_case_is_the_same_account(rm, enrolled):
    """Redmine signs `ADMIN` in as admin: the gateway asks Redmine who that is, so it is
    admin's second factor (verify), not a new enrollment."""
    s = requests.Session()
    answer = rm_login(s, rm.url, user="ADMIN")
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"


def direct_login(autologin=False):
    s = requests.Session()
    answer = rm_login(s, RM, autologin=autologin)
    assert answer.status_code == 302, answer.text[:300]
    return s


def test_sessions_and_autologin_cookies_obtained_directly_are_refused(rm, enrolled):
    direct = direct_login(autologin=True)
    assert "autologin" in direct.cookies
    for cookies in (f"_redmine_session={direct.cookies['_redmine_session']}",
                    f"autologin={direct.cookies['autologin']}"):
        answer = send(rm.port, "GET", "/my/page", [("Cookie", cookies)],
                      source_ip=fresh_client_ip())
        location = {k.lower(): v for k, v in answer.headers}.get("location", "")
        assert answer.status == 302 and "/login" in location, answer


def test_api_keys_are_refused(rm, enrolled):
    with open(f"{RUN}/redmine-api-key") as f:
        key = f.read().strip()
    for target, headers in [("/issues.json", [("X-Redmine-API-Key", key)]),
                            ("/my/page", [("X_Redmine_API_Key", key)]),
                            (f"/issues.atom?key={key}", []),
                            (f"/issues.atom?x=1;key={key}", []),
                            (f"/issues.atom?[key]={key}", []),
                            (f"/issues?%6Bey={key}", [])]:
        answer = send(rm.port, "GET", target, headers, source_ip=fresh_client_ip())
        assert answer.status == 403, (target, answer)
    # Rails reads a GET's form body as parameters too.
    answer = send(rm.port, "GET", "/issues.atom",
                  [("Content-Type", "application/x-www-form-urlencoded")],
                  f"key={key}".encode(), source_ip=fresh_client_ip())
    assert answer.status == 403, answer


def test_stay_logged_in_and_logout(rm, enrolled):
    _, codes = enrolled
    s = requests.Session()
    rm_login(s, rm.url, autologin=True)
    assert verify(s, rm.url, codes[1]).status_code == 302
    assert "autologin" in s.cookies
    # A GET of /logout only asks (an image pointing there must not sign anyone out).
    asked = s.get(f"{rm.url}/logout")
    assert asked.status_code == 200
    assert signed_in(s, rm.url)
    page = s.get(f"{rm.url}/my/page")
    out = s.post(f"{rm.url}/logout", allow_redirects=False,
                 data={"authenticity_token": authenticity_token(page.text)})
    assert out.status_code == 302, out.text[:300]
    ended = rm.records_for(out.headers.get("x-request-id"), "session_ended")
    assert [r["user"] for r in ended] == [ADMIN], ended
    assert not signed_in(s, rm.url)
