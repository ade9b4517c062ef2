"""Tomcat (Debian's tomcat10 with its examples webapp) behind the gateway with
config/examples/tomcat-form.yaml: container-managed FORM login (j_security_check) with its
pre-login session, then the second factor, then the protected page; sessions obtained around
the gateway, other j_security_check paths and session ids in the URL are refused. The manager's
HTTP Basic is a login too: checked with a check path, the second factor, then bound."""
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
    codes_page = s.post(f"{tc.url}/.mfa/enroll",
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


GUI = ("gui", "Gui-Pass1")      # manager-gui: /manager/html, /manager/status
SCRIPT = ("mgr", "Mgr-Pass1")   # manager-script: /manager/text/*, commands as GETs
EXAMPLES_RUNNING = "OK - Listed applications"


def basic_enroll(session, base, path):
    """A first Basic sign-in (session.auth set) brought through enrollment: the released
    answer."""
    answer = session.get(f"{base}{path}", allow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    assert answer.headers["location"] == "/.mfa/enroll"
    page = session.get(f"{base}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = session.post(f"{base}/.mfa/enroll",
                              data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    return session.post(f"{base}/.mfa/enroll/done", allow_redirects=False,
                        data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})


def examples_state():
    listed = requests.get(f"{TOMCAT}/manager/text/list", auth=SCRIPT).text
    return re.search(r"^/examples:(\w+):", listed, re.M).group(1)


def test_the_manager_with_http_basic_needs_the_second_factor(tc):
    """A browser at the manager: Tomcat asks for Basic, the browser sends it, the gateway
    checks it and asks for the second factor, then the manager's page (and the session Tomcat
    keeps for it, with its CSRF nonce) works."""
    s = requests.Session()
    asked = s.get(f"{tc.url}/manager/html", allow_redirects=False)
    assert asked.status_code == 401 and "Basic" in asked.headers["www-authenticate"]
    s.auth = (GUI[0], "wrong")
    wrong = s.get(f"{tc.url}/manager/html", allow_redirects=False)
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
    s.auth = GUI
    released = basic_enroll(s, tc.url, "/manager/html")
    assert released.status_code == 303 and released.headers["location"] == "/manager/html"
    page = s.get(f"{tc.url}/manager/html", allow_redirects=False)
    assert page.status_code == 200 and "Tomcat Web Application Manager" in page.text, page.text[:300]
    assert "JSESSIONID" in s.cookies, "Tomcat's manager session passed"
    # A command of the GUI: a POST with the CSRF nonce of Tomcat's session (here: the list of
    # sessions of /examples, which changes nothing).
    nonce = re.search(r"org.apache.catalina.filters.CSRF_NONCE=([0-9A-F]+)", page.text).group(1)
    listed = s.post(f"{tc.url}/manager/html/sessions?path=/examples"
                    f"&org.apache.catalina.filters.CSRF_NONCE={nonce}", allow_redirects=False)
    assert listed.status_code == 200 and "Sessions Administration" in listed.text, listed.text[:300]
    # The credential alone (another browser, same password) is a new login.
    other = requests.get(f"{tc.url}/manager/html", auth=GUI, allow_redirects=False)
    assert other.status_code == 303 and other.headers["location"] == "/.mfa/verify"


def test_a_manager_command_never_reaches_tomcat_before_the_second_factor(tc):
    """The text interface stops an app on a GET: with an unbound credential that GET never
    reaches Tomcat (the password is checked on /manager/text/serverinfo, the user not being
    allowed /manager/status); after the code, the browser is sent back to it."""
    assert examples_state() == "running"
    s = requests.Session()
    s.auth = SCRIPT
    command = "/manager/text/stop?path=/examples"
    answer = s.get(f"{tc.url}{command}", allow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    assert examples_state() == "running", "the command did not run"
    try:
        released = basic_enroll(s, tc.url, command)
        assert examples_state() == "running"
        assert released.status_code == 303 and released.headers["location"] == command
        done = s.get(f"{tc.url}{command}", allow_redirects=False)
        assert done.status_code == 200 and done.text.startswith("OK - Stopped"), done.text[:300]
        assert examples_state() == "stopped"
    finally:
        requests.get(f"{TOMCAT}/manager/text/start?path=/examples", auth=SCRIPT)
    assert examples_state() == "running"


@pytest.mark.parametrize("credential", ["bWdyOk1nci1QYXNzMQ", "bWdyOk1nci1QYXNzMQ== x",
                                        "IG1ncjpNZ3ItUGFzczE="])
def test_a_basic_credential_read_two_ways_is_refused(tc, credential):
    """Without padding, with trailing text, with space before the name: servers differ, so the
    gateway refuses (400) what it would read one way and Tomcat another."""
    answer = requests.get(f"{tc.url}/manager/text/list", allow_redirects=False,
                          headers={"Authorization": f"Basic {credential}"})
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])


def test_a_basic_user_cannot_launder_a_session_obtained_around_the_gateway(tc, enrolled):
    """The examples' CookieExample servlet sets any cookie its query names: in answer to a
    Basic user's request it would hand out a JSESSIONID signed in as someone else. Basic is a
    login under /manager/ only, so there it is refused, and the session stays unusable."""
    sid = direct_session()
    s = requests.Session()
    s.auth = GUI
    answer = s.get(f"{tc.url}/examples/servlets/servlet/CookieExample",
                   params={"cookiename": "JSESSIONID", "cookievalue": sid}, allow_redirects=False)
    assert answer.status_code == 401, (answer.status_code, answer.text[:300])
    alone = send(tc.port, "GET", PROTECTED, [("Cookie", f"JSESSIONID={sid}")],
                 source_ip=fresh_client_ip())
    assert not SIGNED_IN.search(alone.text)

