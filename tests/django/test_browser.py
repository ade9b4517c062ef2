"""The same Django flow in a real browser: Debian's chromium driven by Playwright, on a phone-
sized screen. Screenshots of the enrollment, recovery-code and challenge pages are saved under
target/test-artifacts/ to look at."""
import os

from playwright.sync_api import sync_playwright

from gwkit import ARTIFACTS, CHROMIUM_ARGS, sign_in, totp


def test_login_enrollment_code_and_admin_in_chromium(django_site, gateway, admin_user):
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            csp_violations = []
            page.on("console", lambda m: csp_violations.append(m.text)
                    if "Content Security Policy" in m.text else None)

            sign_in(page, gateway.url, admin_user)
            page.wait_for_url("**/.mfa/enroll")
            assert page.locator("figure.qr svg").is_visible()
            assert page.locator("h1").inner_text() == "Set up your authenticator app"
            page.screenshot(path=os.path.join(ARTIFACTS, "enroll.png"), full_page=True)

            page.click("text=Can't scan? Enter the key by hand")
            secret = page.inner_text("#secret").replace(" ", "")
            page.fill("#code", totp(secret))
            page.click("button:has-text('Confirm')")
            page.wait_for_selector("ol.codes")
            assert page.locator("ol.codes li").count() == 10
            shown = page.locator("ol.codes li").all_inner_texts()
            # Opened again before they are acknowledged (a reload, a restored tab): the same set.
            page.goto(f"{gateway.url}/.mfa/enroll")
            page.wait_for_selector("ol.codes")
            assert page.locator("ol.codes li").all_inner_texts() == shown
            # The copy button is shown by the page's script (served from the gateway itself).
            assert page.locator("button.copy").is_visible()
            page.screenshot(path=os.path.join(ARTIFACTS, "recovery-codes.png"), full_page=True)

            page.check("input[name=saved]")
            page.click("button:has-text('Continue')")
            page.wait_for_url("**/admin/")
            assert "Site administration" in page.content()
            assert csp_violations == []

            # A second sign-in, in a fresh browser profile, asks for a code.
            second = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            sign_in(second, gateway.url, admin_user)
            second.wait_for_url("**/.mfa/verify")
            code_field = second.locator("#code")
            assert code_field.get_attribute("autocomplete") == "one-time-code"
            assert code_field.get_attribute("inputmode") == "numeric"
            second.screenshot(path=os.path.join(ARTIFACTS, "challenge.png"), full_page=True)
            second.fill("#code", "000000")
            second.click("button:has-text('Verify')")
            assert second.locator("[role=alert]").inner_text().startswith("That code is not valid")
            second.fill("#code", totp(secret, 30))
            second.click("button:has-text('Verify')")
            second.wait_for_url("**/admin/")
            assert "Site administration" in second.content()

            # The gateway's sign-out: a link only asks, the button signs out.
            second.goto(f"{gateway.url}/.mfa/logout")
            assert second.locator("h1").inner_text() == "Sign out?"
            second.screenshot(path=os.path.join(ARTIFACTS, "logout.png"), full_page=True)
            second.goto(f"{gateway.url}/admin/")
            assert "Site administration" in second.content()
            second.goto(f"{gateway.url}/.mfa/logout")
            second.click("button:has-text('Sign out')")
            assert second.locator("h1").inner_text() == "Signed out"
            second.goto(f"{gateway.url}/admin/")
            assert "Site administration" not in second.content()

            # The first browser is still signed in, and a recovery code from the set shown first
            # signs in a third one.
            page.goto(f"{gateway.url}/admin/")
            assert "Site administration" in page.content()
            third = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            sign_in(third, gateway.url, admin_user)
            third.wait_for_url("**/.mfa/verify")
            third.click("text=Lost your phone? Use a recovery code")
            third.fill("#recovery", shown[0])
            third.click("button:has-text('Use recovery code')")
            third.wait_for_url("**/admin/")
            assert csp_violations == []
        finally:
            browser.close()
