"""The gateway's pages as a person meets them, in Debian's chromium (Playwright) on a phone
(390×844, touch) and on a desktop (1280×800), in front of the real Django admin: enrollment on
the phone that must do the scanning, saving recovery codes (download, print, copy only where it
works), a wrong code and the page reloaded, Back after signing in, Start over, the settings with
their way back and the user's sessions, "Sign out everywhere", and an error page. Screenshots of
each page go to target/test-artifacts/pages/ to look at."""
import datetime
import os
import urllib.parse

import pytest
from playwright.sync_api import sync_playwright

from gwkit import ARTIFACTS, CHROMIUM_ARGS, sign_in, totp

SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
SHOTS = os.path.join(ARTIFACTS, "pages")


def shot(page, size, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_pages_on_a_phone_and_a_desktop(size, django_site, gateway, admin_user):
    base = gateway.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**SIZES[size])
            page = context.new_page()
            csp = []
            page.on("console", lambda m: csp.append(m.text)
                    if "Content Security Policy" in m.text else None)

            # Enrollment: on the phone, a button hands the account to an app on the phone
            # itself; on a desktop, the QR code is the way. Either way the page says how long
            # it stays valid and what comes next.
            sign_in(page, base, admin_user)
            page.wait_for_url("**/.mfa/enroll")
            add = page.locator(".phone-only a.button")
            if size == "phone":
                assert add.is_visible()
                assert add.get_attribute("href").startswith("otpauth://totp/")
                assert not page.locator("p.desktop-only").is_visible()
            else:
                assert not add.is_visible()
                assert page.locator("p.desktop-only").is_visible()
            assert page.locator("figure.qr svg").is_visible()
            validity = page.inner_text("#validity")
            assert "minutes" in validity and "recovery codes" in validity, validity
            shot(page, size, "enroll")

            page.click("text=Can't scan? Enter the key by hand")
            secret = page.inner_text("#secret").replace(" ", "")
            page.fill("#code", totp(secret))
            page.click("button:has-text('Confirm')")
            page.wait_for_selector("ol.codes")
            codes = page.locator("ol.codes li").all_inner_texts()
            assert len(codes) == 10

            # Saving the codes: download, print and (on this secure localhost) copy.
            assert page.locator("button[data-print]").is_visible()
            assert page.locator("button[data-copy]").is_visible()
            download = page.locator("a[download]")
            name = download.get_attribute("download")
            today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
            assert admin_user in name and today in name and name.endswith(".txt"), name
            text = urllib.parse.unquote(download.get_attribute("href").split(",", 1)[1])
            assert f"Account: {admin_user}" in text and "Lost your phone?" in text, text
            assert all(c in text for c in codes)
            shot(page, size, "recovery-codes")

            # Without JavaScript, buttons that need it do not show at all.
            bare = browser.new_context(java_script_enabled=False, **SIZES[size])
            bare.add_cookies(context.cookies())
            nojs = bare.new_page()
            nojs.goto(f"{base}/.mfa/enroll")
            nojs.wait_for_selector("ol.codes")
            assert not nojs.locator("button[data-copy]").is_visible()
            assert not nojs.locator("button[data-print]").is_visible()
            assert nojs.locator("a[download]").is_visible()
            bare.close()

            page.check("input[name=saved]")
            page.click("button:has-text('Continue')")
            page.wait_for_url("**/admin/")
            # Back after signing in: no form to resubmit, no stale code page; on to the app.
            page.go_back()
            page.wait_for_url("**/admin/")
            assert "Site administration" in page.content()

            # The settings: a way back to the app, the user's sessions.
            page.goto(f"{base}/.mfa/settings")
            back = page.locator("p.back a")
            assert back.get_attribute("href") == "/admin/"
            rows = page.locator("table.sessions tbody tr")
            assert rows.count() == 1 and "(this browser)" in rows.first.inner_text()
            shot(page, size, "settings")

            # A second sign-in elsewhere: a wrong code, the page reloaded, then the code typed
            # as apps show it ("123 456" / "123-456").
            other = browser.new_context(**SIZES[size]).new_page()
            sign_in(other, base, admin_user)
            other.wait_for_url("**/.mfa/verify")
            other.fill("#code", "000000")
            other.click("button:has-text('Verify')")
            other.wait_for_url("**/.mfa/verify?error=wrong")
            alert = other.locator("[role=alert]").inner_text()
            assert alert.startswith("That code is not valid.") and "4 attempts left" in alert
            shot(other, size, "verify-wrong-code")
            other.reload()
            assert other.url.endswith("/.mfa/verify?error=wrong")
            assert "4 attempts left" in other.locator("[role=alert]").inner_text()
            code = totp(secret, 30)
            other.fill("#code", f"{code[:3]}-{code[3:]}")
            other.click("button:has-text('Verify')")
            other.wait_for_url("**/admin/")

            # Two sessions now; "Sign out everywhere" from the second ends the first too.
            page.goto(f"{base}/.mfa/settings")
            assert page.locator("table.sessions tbody tr").count() == 2
            other.goto(f"{base}/.mfa/settings")
            # Each session names its browser; "Sign out everywhere" asks first, with the count.
            assert "Chrome" in other.locator("table.sessions tbody tr").first.inner_text()
            other.click("a:has-text('Sign out everywhere')")
            other.wait_for_url("**/.mfa/settings/sign-out-everywhere")
            assert "all 2 of your sessions" in other.locator("main").inner_text()
            shot(other, size, "sign-out-everywhere")
            other.click("button:has-text('Sign out everywhere')")
            assert other.locator("h1").inner_text() == "Signed out everywhere"
            assert "2 sessions ended." in other.locator("main").inner_text()
            page.goto(f"{base}/admin/")
            assert "Site administration" not in page.content()

            # Start over ends the pending sign-in: its page is gone afterwards.
            third = browser.new_context(**SIZES[size]).new_page()
            sign_in(third, base, admin_user)
            third.wait_for_url("**/.mfa/verify")
            third.click("button:has-text('Start over')")
            third.wait_for_url("**/admin/login/")
            third.goto(f"{base}/.mfa/verify")
            assert third.locator("h1").inner_text() == "Please sign in again"

            # An error page in the gateway's frame: the app's name, a way back, the reference.
            missing = third.goto(f"{base}/.mfa/no-such-page")
            assert missing.status == 404
            assert third.locator("h1").inner_text() == "404 Page not found"
            assert third.locator("p.app").is_visible()
            assert third.locator("a.button").get_attribute("href") == "/admin/"
            assert missing.headers["x-request-id"] in third.content()
            shot(third, size, "error-404")
            assert csp == []
        finally:
            browser.close()


def test_the_pages_speak_the_browsers_language(django_site, gateway, admin_user):
    """A German browser: the enrollment and code pages in German, as a screenshot shows."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="de-DE", **SIZES["phone"]).new_page()
            sign_in(page, gateway.url, admin_user)
            page.wait_for_url("**/.mfa/enroll")
            assert page.locator("html").get_attribute("lang") == "de"
            assert page.locator("h1").inner_text() == "Authenticator-App einrichten"
            shot(page, "phone", "enroll-de")
        finally:
            browser.close()
