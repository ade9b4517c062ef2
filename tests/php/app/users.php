<?php
// The app's accounts: a fixed table, as small intranets keep them. Names are compared
// case-insensitively (config/examples/cookie-session.yaml says case_fold_users: true).
const USERS = [
    'alice' => 'correct horse battery staple',
    'bob' => 'correct horse battery staple',
];
// One-time links a password reset would mail (fixed here so that tests can follow them).
const RESET_TOKENS = [
    'alice' => 'reset-alice',
    'bob' => 'reset-bob',
];

function current_user(): ?string
{
    // Only visitors who bring a session cookie get one looked up: anonymous pages start none.
    if (!isset($_COOKIE[session_name()])) {
        return null;
    }
    if (session_status() !== PHP_SESSION_ACTIVE) {
        session_start();
    }
    return $_SESSION['user'] ?? null;
}

function sign_in(string $user): void
{
    if (session_status() !== PHP_SESSION_ACTIVE) {
        session_start();
    }
    session_regenerate_id(true);
    $_SESSION['user'] = $user;
}

function page(string $title, string $body): void
{
    header('Content-Type: text/html; charset=utf-8');
    echo "<!doctype html><html><head><title>" . htmlspecialchars($title) . "</title></head><body>"
        . $body . "</body></html>";
}
