"""WordPress (Debian's package) behind the gateway with config/examples/wordpress.yaml: its
password login, then the second factor, the dashboard, "Remember Me", logout; WordPress
sessions obtained around the gateway, XML-RPC and application passwords are refused; the
login's other spellings get the account's own challenge or a refusal."""
import re
import urllib.parse

import pytest
import requests

from legacykit import RUN, gateway_in_front
from gwkit import enrollment_secret, form_value, fresh_client_ip, recovery_codes, send, totp

WP = "http://127.0.0.1:18091"
ADMIN, PASSWORD, EMAIL = "admin", "Adm1n-Pass!", "admin@example.com"


@pytest.fixture(scope="module")
def wp(legacy_apps, legacy_workdir):
    gw = gateway_in_front(legacy_apps, legacy_workdir, "wordpress", WP, "wordpress.yaml")
    yield gw
    gw.stop()


def wp_login(session, base, user=ADMIN, password=PASSWORD, remember=False):
    page = session.get(f"{base}/wp-login.php")
    assert page.status_code == 200, page.text[:300]
    assert "wordpress_test_cookie" in session.cookies
    data = {"log": user, "pwd": password, "wp-submit": "Log In",
            "redirect_to": f"{base}/wp-admin/", "testcookie": "1"}
    if remember:
        data["rememberme"] = "forever"
    return session.post(f"{base}/wp-login.php", data=data, allow_redirects=False)


def wp_cookies(session):
    return sorted(c.name for c in session.cookies if c.name.startswith("wordpress_")
                  and c.name != "wordpress_test_cookie")


def enroll(session, base, user=ADMIN):
    answer = wp_login(session, base, user)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/enroll"
    assert wp_cookies(session) == []
    page = session.get(f"{base}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = session.post(f"{base}/.mfa/enroll",
                              data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    assert codes_page.status_code == 200, codes_page.text[:300]
    codes = recovery_codes(codes_page.text)
    released = session.post(f"{base}/.mfa/enroll/done", allow_redirects=False,
                            data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    # WordPress's own answer as it sent it: the redirect to the dashboard and its cookies.
    assert released.status_code == 302, released.text[:300]
    assert released.headers["location"].endswith("/wp-admin/")
    return secret, codes


def verify(session, base, secret, user=ADMIN, remember=False, code=None):
    answer = wp_login(session, base, user, remember=remember)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/verify"
    page = session.get(f"{base}/.mfa/verify")
    return session.post(f"{base}/.mfa/verify", allow_redirects=False,
                        data={"csrf": form_value(page.text, "csrf"), "code": code or totp(secret)})


def dashboard(session, base):
    return session.get(f"{base}/wp-admin/", allow_redirects=False)


@pytest.fixture(scope="module")
def enrolled(wp):
    s = requests.Session()
    secret, codes = enroll(s, wp.url)
    return secret, codes


def test_password_then_code_then_the_dashboard_then_logout(wp, enrolled):
    secret, _ = enrolled
    s = requests.Session()
    released = verify(s, wp.url, secret, code=totp(secret, offset=30))
    assert released.status_code == 302, released.text[:300]
    names = wp_cookies(s)
    assert any(n.startswith("wordpress_logged_in_") for n in names), names
    page = dashboard(s, wp.url)
    assert page.status_code == 200, page.text[:300]
    assert "Dashboard" in page.text
    # WordPress's own logout (a nonce from the admin bar) removes its cookies: the gateway
    # session ends with it.
    link = re.search(r'wp-login\.php\?action=logout&(?:amp;|#038;)_wpnonce=([0-9a-f]+)', page.text)
    assert link, "logout link"
    out = s.get(f"{wp.url}/wp-login.php?action=logout&_wpnonce={link.group(1)}",
                allow_redirects=False)
    assert out.status_code == 302, out.text[:300]
    assert "loggedout=true" in out.headers["location"]
    ended = [r for r in wp.records_for(out.headers.get("x-request-id"), "session_ended")]
    assert ended and ended[0]["user"] == ADMIN, ended
    assert dashboard(s, wp.url).status_code == 302


def test_remember_me_cookies_last_and_still_need_the_code(wp, enrolled):
    _, codes = enrolled
    s = requests.Session()
    answer = wp_login(s, wp.url, remember=True)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"
    assert wp_cookies(s) == []
    page = s.get(f"{wp.url}/.mfa/verify")
    released = s.post(f"{wp.url}/.mfa/verify", allow_redirects=False,
                      data={"csrf": form_value(page.text, "csrf"), "code": codes[0]})
    assert released.status_code == 302, released.text[:300]
    lasting = [c for c in s.cookies if c.name.startswith("wordpress_logged_in_")]
    assert lasting and all(c.expires for c in lasting), lasting
    assert dashboard(s, wp.url).status_code == 200


def direct_cookies(user=ADMIN, email=False):
    """A WordPress session straight from WordPress, around the gateway."""
    s = requests.Session()
    answer = wp_login(s, WP, EMAIL if email else user)
    assert answer.status_code == 302, answer.text[:300]
    return {c.name: c.value for c in s.cookies}


@pytest.mark.parametrize("spelling", ["as set", "upper case", "dots", "percent", "array"])
def test_a_wordpress_session_obtained_directly_is_refused(wp, enrolled, spelling):
    cookies = direct_cookies()
    # The direct session works at WordPress itself.
    assert requests.get(f"{WP}/wp-admin/", cookies=cookies, allow_redirects=False).status_code == 200

    def respell(name):
        if not name.startswith("wordpress_") or name == "wordpress_test_cookie":
            return name
        return {"as set": name, "upper case": name.upper(), "dots": name.replace("_", "."),
                "percent": name.replace("w", "%77", 1), "array": name + "[x]"}[spelling]
    header = "; ".join(f"{respell(n)}={v}" for n, v in cookies.items())
    answer = send(wp.port, "GET", "/wp-admin/", [("Cookie", header)], source_ip=fresh_client_ip())
    assert answer.status == 302, answer
    assert "wp-login.php" in answer.get("location"), answer


def test_signing_in_by_e_mail_is_the_accounts_challenge(wp, enrolled):
    """WordPress signs in by e-mail too: the gateway takes the account from WordPress's cookie,
    so the e-mail address is admin, who must give admin's code (not enroll a new factor)."""
    s = requests.Session()
    answer = wp_login(s, wp.url, EMAIL)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/verify"
    recs = wp.records_for(answer.headers.get("x-request-id"), "login_intercepted")
    assert [(r["user"], r.get("step")) for r in recs] == [(ADMIN, "verify")], recs


@pytest.mark.parametrize("name", ["ADMIN", "Admin", " admin"])
def test_other_spellings_of_the_name_are_the_accounts_challenge_or_refused(wp, enrolled, name):
    s = requests.Session()
    answer = wp_login(s, wp.url, name)
    assert wp_cookies(s) == []
    if answer.status_code == 303:
        recs = wp.records_for(answer.headers.get("x-request-id"), "login_intercepted")
        assert [(r["user"], r.get("step")) for r in recs] == [(ADMIN, "verify")], recs
    else:
        assert 400 <= answer.status_code < 500 or answer.status_code == 200, answer.text[:300]


@pytest.mark.parametrize("path", ["/wp-login.php", "/WP-LOGIN.PHP", "/wp-login.php/x",
                                  "/%77p-login.php", "/wp-login.php;x=1", "//wp-login.php"])
def test_the_login_spelled_otherwise_is_challenged_or_refused(wp, enrolled, path):
    body = urllib.parse.urlencode({"log": ADMIN, "pwd": PASSWORD, "wp-submit": "Log In",
                                   "testcookie": "1"}).encode()
    answer = send(wp.port, "POST", path, [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", "wordpress_test_cookie=WP%20Cookie%20check")], body, source_ip=fresh_client_ip())
    released = [v for k, v in answer.headers if k.lower() == "set-cookie" and "wordpress_logged_in" in v]
    assert not released, answer
    if answer.status == 303:
        assert answer.get("location") == "/.mfa/verify", answer
    else:
        assert answer.status in (400, 403, 404), answer


def test_xml_rpc_and_application_passwords_are_refused(wp, enrolled):
    call = (b"<?xml version='1.0'?><methodCall><methodName>wp.getUsersBlogs</methodName><params>"
            b"<param><value>admin</value></param><param><value>" + PASSWORD.encode() +
            b"</value></param></params></methodCall>")
    # WordPress itself answers the call with the password alone.
    direct = requests.post(f"{WP}/xmlrpc.php", data=call, headers={"Content-Type": "text/xml"})
    assert direct.status_code == 200 and b"isAdmin" in direct.content, direct.text[:300]
    for path in ["/xmlrpc.php", "/XMLRPC.php", "/xmlrpc.php/x"]:
        answer = send(wp.port, "POST", path, [("Content-Type", "text/xml")], call,
                      source_ip=fresh_client_ip())
        assert answer.status in (400, 403), (path, answer)
    app_password = open(f"{RUN}/wp-app-password").read().strip()
    direct = requests.get(f"{WP}/wp-json/wp/v2/users/me", auth=(ADMIN, app_password))
    assert direct.status_code == 200, direct.text[:300]
    through = requests.get(f"{wp.url}/wp-json/wp/v2/users/me", auth=(ADMIN, app_password))
    assert through.status_code == 401, through.text[:300]
