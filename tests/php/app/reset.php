<?php
// A password-reset link (what a mail would carry): it signs the user in without a password,
// as many apps do after a reset. ?keep=1: on the visitor's current session, without a new id
// (what careless apps do).
require __DIR__ . '/users.php';

$name = strtolower((string)($_GET['user'] ?? ''));
$token = (string)($_GET['token'] ?? '');
if (!isset(RESET_TOKENS[$name]) || !hash_equals(RESET_TOKENS[$name], $token)) {
    http_response_code(403);
    page('Reset', '<p>This link is not valid.</p>');
    exit;
}
if (($_GET['keep'] ?? '') === '1') {
    session_start();
    $_SESSION['user'] = $name;
} else {
    sign_in($name);
}
header('Location: /index.php', true, 302);
