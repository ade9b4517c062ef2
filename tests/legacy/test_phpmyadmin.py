"""phpMyAdmin (Debian's package, cookie authentication, on MariaDB) behind the gateway with
config/examples/phpmyadmin.yaml: its login form with the pre-login session, then the second
factor, the home page and SQL through its own forms while it seals its cookies again in every
answer, its logout; a phpMyAdmin session obtained around the gateway runs no SQL; user names
phpMyAdmin reads differently are refused or get the account's own challenge."""
import re

import pytest
import requests

from legacykit import gateway_in_front
from gwkit import enrollment_secret, form_value, recovery_codes, totp

PMA = "http://127.0.0.1:18092"
USER, PASSWORD = "pma_test", "pma_test_pw"
HOME = "/index.php?route=/"
SIGNED_IN = re.compile(r'user:"pma_test"|logged_in:true')


@pytest.fixture(scope="module")
def pma(legacy_apps, legacy_workdir):
    gw = gateway_in_front(legacy_apps, legacy_workdir, "phpmyadmin", PMA, "phpmyadmin.yaml")
    yield gw
    gw.stop()


def pma_login(session, base, user=USER, password=PASSWORD):
    """As a browser: the login page (a pre-login session and the form's token), then its POST."""
    page = session.get(f"{base}{HOME}")
    assert page.status_code == 200 and "pma_username" in page.text, page.text[:300]
    return session.post(f"{base}{HOME}", allow_redirects=False, data={
        "route": "/", "token": form_value(page.text, "token"),
        "set_session": form_value(page.text, "set_session"),
        "pma_username": user, "pma_password": password, "server": "1"})


def signed_in(session, base):
    page = session.get(f"{base}{HOME}", allow_redirects=False)
    return page.status_code == 200 and "logged_in:true" in page.text


def token_of(session, base):
    page = session.get(f"{base}{HOME}")
    return re.search(r'token:"([0-9a-f]+)"', page.text).group(1)


def run_sql(session, base, sql):
    return session.post(f"{base}/index.php?route=/import", allow_redirects=False, data={
        "token": token_of(session, base), "server": "1", "db": "pma_demo",
        "sql_query": sql, "ajax_request": "true"})


def tables(sql_filter=""):
    """The tables of pma_demo, asked of phpMyAdmin directly."""
    s = requests.Session()
    assert pma_login(s, PMA).status_code == 302
    answer = s.get(f"{PMA}/index.php?route=/database/structure&db=pma_demo")
    return answer.text


@pytest.fixture(scope="module")
def enrolled(pma):
    s = requests.Session()
    answer = pma_login(s, pma.url)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == "/.mfa/enroll"
    assert "pmaAuth-1" not in s.cookies, "the login's answer is withheld"
    page = s.get(f"{pma.url}/.mfa/enroll")
    secret = enrollment_secret(page.text)
    codes_page = s.post(f"{pma.url}/.mfa/enroll",
                        data={"csrf": form_value(page.text, "csrf"), "code": totp(secret)})
    codes = recovery_codes(codes_page.text)
    released = s.post(f"{pma.url}/.mfa/enroll/done", allow_redirects=False,
                      data={"csrf": form_value(codes_page.text, "csrf"), "saved": "yes"})
    # phpMyAdmin's own answer: to its home page, with its three cookies.
    assert released.status_code == 302, released.text[:300]
    assert released.headers["location"].startswith("/index.php?route=/")
    assert {"phpMyAdmin", "pmaUser-1", "pmaAuth-1"} <= set(s.cookies.keys())
    assert signed_in(s, pma.url)
    return secret, codes


def test_login_then_code_then_pages_and_sql_while_it_reseals_its_cookies(pma, enrolled):
    _, codes = enrolled
    s = requests.Session()
    answer = pma_login(s, pma.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify"
    assert not signed_in(s, pma.url)
    page = s.get(f"{pma.url}/.mfa/verify")
    released = s.post(f"{pma.url}/.mfa/verify", allow_redirects=False,
                      data={"csrf": form_value(page.text, "csrf"), "code": codes[0]})
    assert released.status_code == 302, released.text[:300]
    bound = dict(s.cookies)
    # phpMyAdmin seals pmaUser-1 and pmaAuth-1 again in every answer; the browser keeps the
    # bound values, which phpMyAdmin still takes, page after page.
    for _ in range(5):
        assert signed_in(s, pma.url)
    assert s.cookies["pmaAuth-1"] == bound["pmaAuth-1"]
    # A POST of its own (SQL through the import route) is no login: it runs, no challenge.
    done = run_sql(s, pma.url, "CREATE TABLE IF NOT EXISTS via_gateway (id INT)")
    assert done.status_code == 200 and '"success":true' in done.text, done.text[:300]
    assert "via_gateway" in tables()
    run_sql(s, pma.url, "DROP TABLE via_gateway")


def test_a_wrong_password_is_phpmyadmins_error(pma, enrolled):
    s = requests.Session()
    answer = pma_login(s, pma.url, password="wrong")
    assert answer.status_code == 200 and "Cannot log in to the MySQL server" in answer.text


def test_a_phpmyadmin_session_obtained_directly_runs_nothing(pma, enrolled):
    """Signed in around the gateway (the password alone): through it, pmaAuth-1 is removed as
    unbound, and phpMyAdmin, seeing its session without it, signs that session out."""
    direct = requests.Session()
    assert pma_login(direct, PMA).status_code == 302
    token = token_of(direct, PMA)
    s = requests.Session()
    for name in ("phpMyAdmin", "pmaUser-1", "pmaAuth-1"):
        s.cookies.set(name, direct.cookies[name])
    answer = s.post(f"{pma.url}/index.php?route=/import", allow_redirects=False, data={
        "token": token, "server": "1", "db": "pma_demo", "ajax_request": "true",
        "sql_query": "CREATE TABLE around_the_gateway (id INT)"})
    assert '"success":true' not in answer.text, answer.text[:300]
    assert "around_the_gateway" not in tables()
    assert not signed_in(s, pma.url)


@pytest.mark.parametrize("typed", ["pma_test\x00x", "pma_test\u200b", "pma_test\u00a0"])
def test_user_names_phpmyadmin_reads_differently_are_refused(pma, enrolled, typed):
    """phpMyAdmin cuts a user name at a NUL (`pma_test\\0x` is pma_test): names with control
    or format characters, or space at the ends that only some apps strip, are refused before
    phpMyAdmin sees them."""
    s = requests.Session()
    answer = pma_login(s, pma.url, user=typed)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])


@pytest.mark.parametrize("typed", ["PMA_TEST", " pma_test "])
def test_other_spellings_are_other_accounts_to_mariadb(pma, enrolled, typed):
    """MariaDB compares user names exactly; the gateway trims ASCII space as phpMyAdmin's
    form does not: either way phpMyAdmin refuses, and nothing is withheld or released."""
    s = requests.Session()
    answer = pma_login(s, pma.url, user=typed)
    assert answer.status_code == 200 and "Cannot log in" in answer.text, answer.text[:300]
    assert "pmaAuth-1" not in s.cookies


def test_logout_ends_the_gateway_session(pma, enrolled):
    _, codes = enrolled
    s = requests.Session()
    pma_login(s, pma.url)
    page = s.get(f"{pma.url}/.mfa/verify")
    s.post(f"{pma.url}/.mfa/verify", data={"csrf": form_value(page.text, "csrf"),
                                           "code": codes[1]}, allow_redirects=False)
    assert signed_in(s, pma.url)
    out = s.post(f"{pma.url}/index.php?route=/logout", allow_redirects=False,
                 data={"token": token_of(s, pma.url)})
    assert out.status_code == 302, out.text[:300]
    ended = pma.records_for(out.headers.get("x-request-id"), "session_ended")
    assert [r["user"] for r in ended] == [USER], ended
    assert not signed_in(s, pma.url)
    again = pma_login(s, pma.url)
    assert again.status_code == 303 and again.headers["location"] == "/.mfa/verify"


@pytest.mark.parametrize("header", ["Front-End-Https: on", "HTTPS-From-LB: on",
                                    "CloudFront-Forwarded-Proto: https", "Scheme: https",
                                    "X-Forwarded-Proto: https"])
def test_a_client_claiming_https_gets_no_session_past_the_gateway(pma, enrolled, header):
    """phpMyAdmin names its cookies `…_https` when a header says the client used https: a
    client that says so itself still meets the second factor (the gateway drops such headers
    from clients, and knows both spellings)."""
    name, value = header.split(": ")
    s = requests.Session()
    s.headers[name] = value
    answer = pma_login(s, pma.url)
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify", (
        answer.status_code, answer.headers)
    assert not [c for c in s.cookies if c.name.startswith("pmaAuth")]


def test_a_login_posted_to_the_directory_index_is_a_login(pma, enrolled):
    s = requests.Session()
    page = s.get(f"{pma.url}{HOME}")
    answer = s.post(f"{pma.url}/", allow_redirects=False, data={
        "token": form_value(page.text, "token"), "pma_username": USER,
        "pma_password": PASSWORD, "server": "1"})
    assert answer.status_code == 303 and answer.headers["location"] == "/.mfa/verify", (
        answer.status_code, answer.text[:300])
