"""A stock Django admin behind the gateway, as a browser would use it (CSRF token, form post),
with config/examples/django-admin.yaml unchanged."""
import re

import requests

from gwkit import PASSWORD, enrollment_secret, form_value, recovery_codes, totp


def django_login(session, base, username, password=PASSWORD):
    page = session.get(f"{base}/admin/login/?next=/admin/", allow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    token = form_value(page.text, "csrfmiddlewaretoken")
    return session.post(f"{base}/admin/login/?next=/admin/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": username, "password": password,
        "next": "/admin/",
    })


def enroll(session, base, username):
    answer = django_login(session, base, username)
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"] == "/.mfa/enroll"
    assert "sessionid" not in answer.headers.get("set-cookie", "")
    page = session.get(f"{base}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = session.post(f"{base}/.mfa/enroll", data={
        "csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    assert codes_page.status_code == 200, codes_page.text[:500]
    codes = recovery_codes(codes_page.text)
    assert len(codes) == 10
    assert "sessionid" not in session.cookies
    released = session.post(f"{base}/.mfa/enroll/done", allow_redirects=False, data={
        "csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    # Django's own answer, as it sent it: the redirect to the admin and its session cookie.
    assert released.status_code == 302
    assert released.headers["location"] == "/admin/"
    assert "sessionid" in session.cookies
    return secret, codes


def test_enroll_then_reach_the_admin_only_after_the_code(django_site, gateway, admin_user):
    s = requests.Session()
    base = gateway.url
    wrong = django_login(s, base, admin_user, "wrong password")
    assert wrong.status_code == 200
    assert "Please enter the correct username and password" in wrong.text

    answer = django_login(s, base, admin_user)
    assert answer.status_code == 303
    # Before the second factor, Django's session never reaches the client.
    assert "sessionid" not in s.cookies
    assert "sessionid" not in answer.text
    early = s.get(f"{base}/admin/", allow_redirects=False)
    assert early.status_code == 302 and early.headers["location"].startswith("/admin/login/")

    page = s.get(f"{base}/.mfa/enroll")
    assert "otpauth://totp/Django%20administration:" + admin_user in page.text
    secret = enrollment_secret(page.text)
    codes_page = s.post(f"{base}/.mfa/enroll", data={
        "csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    assert len(recovery_codes(codes_page.text)) == 10
    released = s.post(f"{base}/.mfa/enroll/done", allow_redirects=False, data={
        "csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    assert released.status_code == 302 and released.headers["location"] == "/admin/"

    index = s.get(f"{base}/admin/", allow_redirects=False)
    assert index.status_code == 200
    assert "Site administration" in index.text
    # The admin's static files pass (bypass) with the session or without.
    css = requests.get(f"{base}/static/admin/css/base.css")
    assert css.status_code == 200


def test_a_django_session_obtained_directly_is_stripped(django_site, gateway, admin_user):
    direct = requests.Session()
    answer = django_login(direct, django_site.url, admin_user)
    assert answer.status_code == 302, "logged in at Django directly, around the gateway"
    sessionid = direct.cookies["sessionid"]
    assert requests.get(f"{django_site.url}/admin/", cookies={"sessionid": sessionid},
                        allow_redirects=False).status_code == 200
    through = requests.get(f"{gateway.url}/admin/", cookies={"sessionid": sessionid},
                           allow_redirects=False)
    assert through.status_code == 302
    assert through.headers["location"].startswith("/admin/login/")
    assert "unbound app session cookie removed" in gateway.log_text()


def test_logout_ends_both_sessions_and_second_login_asks_for_a_code(django_site, gateway, admin_user):
    s = requests.Session()
    base = gateway.url
    secret, codes = enroll(s, base, admin_user)
    index = s.get(f"{base}/admin/")
    assert "Site administration" in index.text
    old = {"sessionid": s.cookies["sessionid"], "mfa_session": s.cookies["mfa_session"]}

    token = form_value(index.text, "csrfmiddlewaretoken")
    out = s.post(f"{base}/admin/logout/", data={"csrfmiddlewaretoken": token}, allow_redirects=False)
    assert out.status_code == 200, out.text[:300]
    assert "mfa_session" not in s.cookies
    replay = requests.get(f"{base}/admin/", cookies=old, allow_redirects=False)
    assert replay.status_code == 302

    s2 = requests.Session()
    again = django_login(s2, base, admin_user)
    assert again.headers["location"] == "/.mfa/verify"
    page = s2.get(f"{base}/.mfa/verify")
    assert re.search(r'autocomplete="one-time-code"', page.text)
    ok = s2.post(f"{base}/.mfa/verify", allow_redirects=False, data={
        "csrf": form_value(page.text, "csrf"), "code": totp(secret, 30)})
    assert ok.status_code == 302 and ok.headers["location"] == "/admin/"
    assert "Site administration" in s2.get(f"{base}/admin/").text


def test_a_recovery_code_works_once_and_never_twice(django_site, gateway, admin_user):
    s = requests.Session()
    _, codes = enroll(s, gateway.url, admin_user)
    statuses = []
    for _ in range(2):
        b = requests.Session()
        django_login(b, gateway.url, admin_user)
        page = b.get(f"{gateway.url}/.mfa/verify")
        r = b.post(f"{gateway.url}/.mfa/verify", allow_redirects=False, data={
            "csrf": form_value(page.text, "csrf"), "code": codes[0]})
        statuses.append(r.status_code)
    assert statuses == [302, 303]
