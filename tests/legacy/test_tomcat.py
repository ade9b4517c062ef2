"""Tomcat (Debian's tomcat10 with its examples webapp) behind the gateway with
config/examples/tomcat-form.yaml: container-managed FORM login (j_security_check) with its
pre-login session, then the second factor, then the protected page; sessions obtained around
the gateway, other j_security_check paths, session ids in the URL and HTTP Basic are refused."""
import re
import urllib.parse

import pytest
import requests

from legacykit import gateway_in_front
from gwkit import enrollment_secret, form_value, fresh_client_ip, recovery_codes, send, totp

TOMCAT = "http://127.0.0.1:18084"
PROTECTED = "/examples/jsp/security/protected/index.jsp"
USER, PASSWORD = "tomcat", "Tomcat-Pass1"
SIGNED_IN = re.compile(r"remote user\s+<b>tomcat</b>")


@pytest.fixture(scope="module")
def tc(legacy_apps, legacy_workdir):
    gw = gateway_in_front(legacy_apps, legacy_workdir, "tomcat", TOMCAT, "tomcat-form.yaml")
    yield gw
    gw.stop()


def form_login(session, base, password=PASSWORD):
    """As a browser: the protected page (Tomcat answers with its login form and a pre-login
    session), then the form's POST to its action (which carries `;jsessionid=`)."""
    page = session.get(f"{base}{PROTECTED}", allow_redirects=False)
    assert page.status_code == 200 and "j_security_check" in page.text, page.text[:300]
    assert "JSESSIONID" in session.cookies, "the pre-login session reaches the browser"
    action = re.search(r"action=['\"]([^'\"]+)['\"]", page.text).group(1)
    url = urllib.parse.urljoin(f"{base}{PROTECTED}", action)
    return session.post(url, data={"j_username": USER, "j_password": password},
                        allow_redirects=False)


def signed_in(session, base):
    page = session.get(f"{base}{PROTECTED}", allow_redirects=False)
    return page.status_code == 200 and SIGNED_IN.search(page.text) is not None


@pytest.fixture(scope="module")
def enrolled(tc):
    s = requests.Session()
    answer = form_login(s, tc.url)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/enroll"
    page = s.get(f"{tc.url}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = s.post(f"{tc.url}/.mfa/enroll", allow_redirects=False,
                        data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    codes = recovery_codes(codes_page.text)
    released = s.post(f"{tc.url}/.mfa/enroll/done", allow_redirects=False,
                      data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    # Tomcat's own answer: back to the page first asked for, with the new session id.
    assert released.status_code == 303, released.text[:300]
    assert released.headers["location"].startswith(PROTECTED)
    assert signed_in(s, tc.url)
    return secret, codes


def test_form_login_then_code_then_the_protected_page(tc, enrolled):
    _, codes = enrolled
    s = requests.Session()
    answer = form_login(s, tc.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"
    # Until the code, the pre-login session does not open the protected page.
    assert not signed_in(s, tc.url)
    page = s.get(f"{tc.url}/.mfa/verify")
    released = s.post(f"{tc.url}/.mfa/verify", allow_redirects=False,
                      data={"csrf": form_value(page.text, "csrf"), "code": codes[0]})
    assert released.status_code == 303, released.text[:300]
    assert signed_in(s, tc.url)


def test_a_wrong_password_is_tomcats_error_page(tc, enrolled):
    s = requests.Session()
    answer = form_login(s, tc.url, password="wrong")
    assert answer.status_code == 200 and "Invalid user name" in answer.text, answer.text[:300]


def direct_session():
    """A signed-in Tomcat session straight from Tomcat, around the gateway."""
    s = requests.Session()
    answer = form_login(s, TOMCAT)
    assert answer.status_code == 303, answer.text[:300]
    assert signed_in(s, TOMCAT)
    return s.cookies["JSESSIONID"]


def test_a_tomcat_session_obtained_directly_is_refused(tc, enrolled):
    sid = direct_session()
    for headers, target in [
        ([("Cookie", f"JSESSIONID={sid}")], PROTECTED),
        ([("Cookie", f"jsessionid={sid}")], PROTECTED),
        ([], f"{PROTECTED};jsessionid={sid}"),
        ([], f"/examples/jsp/security/protected/;jsessionid={sid}"),
    ]:
        answer = send(tc.port, "GET", target, headers, source_ip=fresh_client_ip())
        assert not SIGNED_IN.search(answer.text), (target, answer)
        assert answer.status in (200, 400), (target, answer)
    # Nor on the login route, where a session from before the login may go: a POST there
    # signs in again, and that answer is withheld behind the second factor.
    body = urllib.parse.urlencode({"j_username": USER, "j_password": PASSWORD}).encode()
    answer = send(tc.port, "POST", "/examples/jsp/security/protected/j_security_check",
                  [("Cookie", f"JSESSIONID={sid}"),
                   ("Content-Type", "application/x-www-form-urlencoded")], body,
                  source_ip=fresh_client_ip())
    assert not [v for k, v in answer.headers if k.lower() == "set-cookie" and "JSESSIONID" in v], answer


@pytest.mark.parametrize("path", ["/examples/j_security_check",
                                  "/examples/jsp/security/j_security_check",
                                  "/examples/jsp/security/protected/x/j_security_check"])
def test_j_security_check_at_other_paths_is_a_login_too(tc, enrolled, path):
    """Tomcat takes j_security_check under any path of the app (`*/j_security_check` in the
    config): each is intercepted like the form's own, so the password alone opens nothing and
    failures there count towards the login throttle."""
    s = requests.Session()
    s.get(f"{tc.url}{PROTECTED}")
    assert "JSESSIONID" in s.cookies
    answer = s.post(f"{tc.url}{path}", data={"j_username": USER, "j_password": PASSWORD},
                    allow_redirects=False)
    assert "JSESSIONID" not in answer.headers.get("set-cookie", ""), path
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify", (
        answer.status_code, answer.text[:300])
    assert not signed_in(s, tc.url)


def test_tomcats_logoff_ends_the_gateway_session_and_signing_in_again_works(tc, enrolled):
    _, codes = enrolled
    s = requests.Session()
    form_login(s, tc.url)
    page = s.get(f"{tc.url}/.mfa/verify")
    s.post(f"{tc.url}/.mfa/verify", data={"csrf": form_value(page.text, "csrf"), "code": codes[1]},
           allow_redirects=False)
    assert signed_in(s, tc.url)
    off = s.get(f"{tc.url}{PROTECTED}?logoff=true", allow_redirects=False)
    assert off.status_code == 302, off.text[:300]
    # Tomcat answers the next page with its login form and a new session: the gateway
    # session ends with the old one.
    again = s.get(f"{tc.url}{PROTECTED}", allow_redirects=False)
    assert again.status_code == 200 and "j_security_check" in again.text
    ended = tc.records_for(again.headers.get("x-request-id"), "session_ended")
    assert [r["user"] for r in ended] == [USER], ended
    answer = form_login(s, tc.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify", answer.text[:300]


def test_http_basic_is_refused(tc):
    direct = requests.get(f"{TOMCAT}/manager/text/list", auth=("mgr", "Mgr-Pass1"))
    assert direct.status_code == 200, direct.text[:300]
    through = requests.get(f"{tc.url}/manager/text/list", auth=("mgr", "Mgr-Pass1"))
    assert through.status_code == 401, through.text[:300]
