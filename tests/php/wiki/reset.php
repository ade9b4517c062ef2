<?php
// A password-reset link (what the mail carries): it signs the user in on a new session id and
// shows the "choose a new password" page -- as many apps do after a reset.
require __DIR__ . '/common.php';
const RESET_TOKENS = ['alice' => 'reset-alice', 'bob' => 'reset-bob'];
$name = strtolower((string)($_GET['user'] ?? ''));
if (!isset(RESET_TOKENS[$name]) || !hash_equals(RESET_TOKENS[$name], (string)($_GET['token'] ?? ''))) {
    page('Reset', '<p>This link is not valid.</p>', 403); exit;
}
session_regenerate_id(true);
$_SESSION['user'] = $name;
$notes = @file_get_contents(store() . "/notes-$name") ?: "(private notes of $name)";
page('Welcome back', '<p>Signed in as ' . htmlspecialchars($name) . '. Choose a new password.</p><pre>' . htmlspecialchars($notes) . '</pre>');
