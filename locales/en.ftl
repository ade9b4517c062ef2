# The gateway's pages in English: the reference every other language must match, message by
# message (the test suite checks it). Arguments: $user, $app, $issuer are names; $count and
# $minutes numbers.

## Frame and shared words
continue = Continue
cancel = Cancel
confirm = Confirm
start-over = Start over
sign-in-again = Sign in again
sign-out = Sign out
signed-in-as = Signed in as { $user }.

## Verification code
challenge-title = Verification code
challenge-heading = Enter your verification code
challenge-intro = Signed in as { $user }. Open your authenticator app and enter the 6-digit code it shows for { $issuer }.
code-label = Verification code
verify = Verify
recovery-summary = Lost your phone? Use a recovery code
recovery-label = Recovery code
recovery-use = Use recovery code

## Invitation
invite-title = Invitation code
invite-heading = Enter your invitation code
invite-intro = Signed in as { $user }. Before you set up two-factor authentication, enter the invitation code your administrator gave you.
invite-label = Invitation code
invite-none = No code? Ask your administrator for one.

## Enrollment
enroll-title = Set up two-factor authentication
enroll-heading = Set up your authenticator app
enroll-intro = { $user }, this site needs a second factor: a 6-digit code from an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, Aegis, …).
enroll-intro-replace = Signed in as { $user }. Your current app keeps working until the new one is confirmed.
enroll-intro-replace-both = Signed in as { $user }. Your current app keeps working until the new one is confirmed with a code from each.
enroll-add = Add to an authenticator app on this phone
enroll-add-then = Then come back to this page and enter the code the app shows. Or scan the code below from another device.
enroll-scan = Scan this code with the authenticator app on your phone, then enter the 6-digit code it shows.
enroll-manual = Can't scan? Enter the key by hand
enroll-account = Account:
enroll-key = Key:
enroll-type = Type: time-based, 6 digits, 30 seconds
enroll-open-here = Open in an authenticator app on this device
enroll-code-label = Code from the app
enroll-current-label = Current code from the app you use now, or a recovery code
enroll-validity = { $minutes ->
    [one] This page stays valid for 1 minute; after that, sign in again. Next you get recovery codes to keep, then { $app } opens.
   *[other] This page stays valid for { $minutes } minutes; after that, sign in again. Next you get recovery codes to keep, then { $app } opens.
}

## Recovery codes
codes-title = Your recovery codes
codes-heading = Save your recovery codes
codes-intro = If you lose your phone, each of these codes lets you sign in once instead of a code from the app. They are shown only now: download, print or copy them and keep them somewhere safe.
codes-download = Download (.txt)
codes-print = Print
codes-copy = Copy
codes-copied = Copied
codes-saved = I have saved these codes
codes-replaced = Your old recovery codes no longer work: only these new ones do.
file-heading = Recovery codes for { $app }
file-account = Account: { $user }
file-made = Made: { $time } (UTC)
file-use = Use one of these codes when { $app } asks for a verification code and you do not have your authenticator app: choose "Lost your phone? Use a recovery code" and type it.
file-once = Each code works once. Making new codes in the settings replaces all of these.

## Settings
settings-title = Two-factor authentication
settings-back = ← Back to { $app }
settings-totp = Authenticator app
settings-totp-since = Active since { $time }.
settings-totp-used = Last used { $time }.
settings-replace = Replace with a new app
settings-no-totp = No authenticator app is set up.
settings-set-up = Set up an authenticator app
settings-codes = Recovery codes
settings-codes-left = { $count ->
    [one] 1 unused recovery code left. Making new ones replaces all of them.
   *[other] { $count } unused recovery codes left. Making new ones replaces all of them.
}
settings-current-label = Current code from your app, or a recovery code
settings-new-codes = Make new recovery codes
settings-off-heading = Turn off two-factor authentication
settings-off = Turn off
settings-required = This application requires a second factor: it cannot be turned off, only replaced.
settings-sessions = Where you are signed in
settings-sessions-app = App
settings-sessions-started = Signed in
settings-sessions-last = Last active
settings-sessions-this = (this browser)
settings-sign-out-everywhere = Sign out everywhere
settings-sessions-browser = Browser
settings-sessions-since = Signed in { $time }
settings-devices = Browsers you have signed in from
settings-devices-intro = These browsers have passed your second factor before. Wrong codes typed anywhere else never lock them out. Forget a browser you no longer use or trust.
settings-devices-none = No browser is remembered yet.
settings-devices-used = Last used
settings-devices-since = Remembered since { $time }
settings-devices-forget = Forget
settings-devices-code = Current code
notice-session-ended = That session is signed out.
notice-session-gone = That session had already ended.
notice-device-forgotten = That browser is forgotten.
notice-device-gone = That browser was not remembered.
everywhere-title = Sign out everywhere?
everywhere-confirm = { $count ->
    [one] This ends your only session, this one.
   *[other] This ends all { $count } of your sessions, on every app and browser, this one included.
} Remembered browsers stay remembered: forget them in the settings.
everywhere-done-title = Signed out everywhere
everywhere-done = { $count ->
    [one] 1 session ended.
   *[other] { $count } sessions ended.
} You are signed out on every browser.
confirm-cancel = Cancel
notice-off = Two-factor authentication is off.
notice-new-app = Your new authenticator app is active.

## Sign out
logout-heading = Sign out?
logout-intro = Signed in as { $user }. Signing out ends your session in this application on this device.
logout-stay = Stay signed in
signed-out-title = Signed out
signed-out = You are signed out of this application.
not-signed-in-title = Not signed in
not-signed-in = You are not signed in to this application.

## Codes and their refusals
code-wrong = That code is not valid.
code-spent = That code was already used. Wait for the next code from your authenticator app, or use a recovery code.
code-format = A code from your authenticator app has 6 digits; a recovery code has 12 letters and digits. Nothing was counted: try again.
attempts-left = { $count ->
    [one] 1 attempt left.
   *[other] { $count } attempts left.
}
invite-wrong = That invitation code is not valid or has expired.
enter-code = Enter the code from your authenticator app.
enter-invite = Enter the invitation code from your administrator.
too-many-title = Too many wrong codes
too-many = Too many wrong codes were entered. Please sign in again.
one-code-title = One code, please
one-code = The form carried more than one code and was refused.
wrong-codes-title = Someone may know your password
wrong-codes = { $count ->
    [one] Since you last signed in, someone typed your password and then 1 wrong code. Your password is known to someone else: change it now.
   *[other] Since you last signed in, someone typed your password and then { $count } wrong codes. Your password is known to someone else: change it now.
}
locked-title = Too many attempts
locked = Too many wrong codes were entered for this account or from this network. For your security, signing in is paused until { $until } UTC (in about { $wait }). Signing in again before then will not help; an administrator can lift the lock sooner.
locked-account = An administrator has paused signing in to this account until { $until } UTC (in about { $wait }). Ask them if you need to sign in sooner.
locked-new-browsers = Too many wrong codes were entered for this account from browsers it had not signed in from before. Signing in from a new browser is paused until { $until } UTC (in about { $wait }); a browser you signed in with before still works. Someone may know your password: change it. An administrator can lift this sooner with: mfa-gateway user unlock { $user }
locked-device = Too many wrong codes were entered in this browser. Signing in here is paused until { $until } UTC (in about { $wait }). An administrator can lift this sooner with: mfa-gateway user unlock { $user }
locked-address = Too many wrong codes were entered from your address ({ $address }). Signing in from it is paused until { $until } UTC (in about { $wait }). An administrator can lift this sooner with: mfa-gateway client unlock { $address }
locked-network = Too many wrong codes were entered from your network ({ $address }). Signing in from it is paused until { $until } UTC (in about { $wait }). An administrator can lift this sooner with: mfa-gateway client unlock ADDRESS (your address in that network)
throttled-address = Too many failed sign-ins from your address ({ $address }). Signing in from it is paused until { $until } UTC (in about { $wait }); a browser you have signed in from before is not paused. An administrator can lift this sooner with: mfa-gateway client unlock { $address }
throttled-name = Too many failed sign-ins for the user name { $user }. Signing in with it from new browsers is paused until { $until } UTC (in about { $wait }); a browser you have signed in from before is not paused. If these attempts were not yours, someone is guessing your password. An administrator can lift this sooner with: mfa-gateway user unlock { $user }
enrollment-closed-title = A second factor is needed
enrollment-closed = { $user } has no second factor yet, and setting one up at sign-in is no longer open here. Ask your administrator for an enrollment code (they make one with: mfa-gateway user invite { $user }), then sign in again.
wait-minutes = { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
}
refused-code-required = Enter a current code from your authenticator app, or a recovery code.
refused-wrong-current = The current code is not valid. Enter a code from the app you use now, or a recovery code.
refused-current-required = Replacing your authenticator needs a current code too: one from the app you use now, or a recovery code.
refused-locked = Too many wrong codes were entered. For your security, changes are paused for a while.
refused-required = This application requires a second factor: it cannot be turned off.
refused-setup-expired = This setup has expired. Start again.
refused-invitation-needed = Setting up a second factor here needs an enrollment code from your administrator (they make one with: mfa-gateway user invite and your user name). With it, sign in again.

## Dead ends
sign-in-again-title = Please sign in again
refusal-invalid = This sign-in could not be verified. Please sign in again.
refusal-expired = This sign-in has expired or was already completed. Please sign in again.
refusal-wrong-step = This sign-in is waiting for a different step.
form-expired-title = Form expired
form-expired = This form is no longer valid. Please sign in again.
form-expired-logout = This form is no longer valid. Open the sign-out page again.
form-expired-settings = This form is no longer valid. Open the settings again.
too-large-title = Request too large
too-large = The form was too large.
unavailable-title = Temporarily unavailable
unavailable = The gateway cannot check sign-ins right now. Please try again in a moment.
sign-in-first-title = Sign in first
sign-in-first = Sign in to this application to change how you verify.

## Error pages
error-try-again = Try again
error-home = Go to the start page
error-reference = If you ask for help, give this reference: { $id }
error-title = { $status ->
    [400] Bad request
    [401] Sign-in needed
    [403] Not allowed
    [404] Page not found
    [408] Request too slow
    [413] Request too large
    [429] Too many attempts
    [431] Request headers too large
    [502] Application not reachable
    [503] Temporarily unavailable
    [504] Application too slow
   *[other] Error
}
proxy-unknown-host = No application is configured for this host name.
proxy-no-gateway-page = There is no gateway page at this address.
proxy-bad-host = The request has no valid Host header.
proxy-ambiguous-path = The request path is ambiguous (dot segments, encoded slashes or similar) and was refused.
proxy-headers-too-large = The request headers are too large.
proxy-upstream-unreachable = The application behind this gateway could not be reached. Please try again shortly.
proxy-unexpected-switch = The application behind this gateway answered in a way the gateway cannot relay.
proxy-upstream-timeout = The application behind this gateway took too long to answer.
proxy-bad-upstream-request = The gateway could not forward this request.
proxy-unauthorized = This credential is not valid here. Please sign in again.
proxy-state-unavailable = The gateway cannot check sign-ins right now. Please try again in a moment.
proxy-body-too-large = The request body is too large.
proxy-body-unreadable = The request body could not be read.
proxy-body-timeout = The request body did not arrive in time. Please try again.
proxy-login-unchecked = The sign-in could not be completed because the gateway could not check it. Please contact the administrator.
proxy-login-throttled = Too many failed sign-ins from this network or for this account. For your security, signing in is paused for a few minutes.
proxy-ambiguous-request = The request could be read in more than one way and was refused.
proxy-repeated-field = The request gives the { $field } header field more than one value, so it could be read in more than one way, and was refused.
proxy-app-session-withheld = This sign-in did not go through the gateway's login. Please sign in on the login page.
proxy-answer-unchecked = The application's answer could not be checked, so the gateway did not pass it on. Please contact the administrator if this keeps happening.
proxy-session-changed-hands = The application now says this session belongs to another account. For your security you have been signed out; please sign in again.
proxy-connection-authentication = Windows sign-in (NTLM or Negotiate) cannot pass through this gateway: it would be shared with other users' requests.
proxy-path-refused = This address is not available through the gateway: it would sign in with a password alone.
codes-unseen-title = Your recovery codes were never shown to you
codes-unseen = The gateway stopped before it could show you your recovery codes, so you cannot have saved them. Make a new set in your settings now (it replaces the set you never saw).
