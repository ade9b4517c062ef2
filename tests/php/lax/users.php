<?php
// A deliberately lax PHP app (issue 17): the classes of mistakes real apps make, on purpose.
// - a session on every page, anonymous ones too (session_start() always);
// - user names cleaned the app's own way (lower case, then everything but [a-z0-9] dropped);
// - credentials taken on ANY page from the query string, not only on the login form;
// - no session_regenerate_id at sign-in: the session id the visitor already holds becomes the
//   signed-in session, and the new `auth` cookie opens it only together with that id;
// - a "remember me" cookie holding the user's numeric id (no secret), which the app deletes
//   wherever it sees it on a request that is not signed in.
const USERS = ['alice' => 1, 'bob' => 2, 'carol' => 3];
const PASSWORD = 'correct horse battery staple';

session_start();

function clean_name($typed): string
{
    return is_string($typed) ? preg_replace('/[^a-z0-9]/', '', strtolower($typed)) : '';
}

/** The account these credentials open, or null. */
function check_password($typed, $password): ?string
{
    $name = clean_name($typed);
    if ($name === '' || !isset(USERS[$name]) || !is_string($password)) {
        return null;
    }
    return hash_equals(PASSWORD, $password) ? $name : null;
}

function sign_in(string $name, bool $remember): void
{
    $auth = bin2hex(random_bytes(16));
    $_SESSION['user'] = $name;
    $_SESSION['auth'] = $auth;
    // No Path, as many legacy apps write it: the browser keeps it for the request's directory.
    setcookie('auth', $auth);
    $_COOKIE['auth'] = $auth;
    if ($remember) {
        setcookie('remember', (string)USERS[$name], ['path' => '/']);
        $_COOKIE['remember'] = (string)USERS[$name];
    }
}

function current_user(): ?string
{
    $user = $_SESSION['user'] ?? null;
    $auth = $_COOKIE['auth'] ?? null;
    if (is_string($user) && is_string($_SESSION['auth'] ?? null) && is_string($auth)
        && hash_equals($_SESSION['auth'], $auth)) {
        return $user;
    }
    return null;
}

function page(string $title, string $body, int $status = 200): void
{
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    echo "<!doctype html><html><head><title>" . htmlspecialchars($title) . "</title></head><body>"
        . $body . "</body></html>";
}

// Credentials in the query string sign in on any page, whatever the method.
if (isset($_GET['user'], $_GET['password'])) {
    $name = check_password($_GET['user'], $_GET['password']);
    if ($name !== null) {
        sign_in($name, ($_GET['remember'] ?? '') === '1');
    }
}

// "Invalid remember-me" cleanup: a remember cookie on a request that ends up not signed in is
// removed. Decided when the headers go out, after the page had its chance to sign in.
header_register_callback(function () {
    if (isset($_COOKIE['remember']) && current_user() === null) {
        setcookie('remember', '', ['expires' => 1, 'path' => '/']);
    }
});
