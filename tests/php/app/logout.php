<?php
require __DIR__ . '/users.php';

if (current_user() !== null || session_status() === PHP_SESSION_ACTIVE) {
    $_SESSION = [];
    session_destroy();
}
setcookie(session_name(), '', ['expires' => 1, 'path' => '/']);
header('Location: /login.php', true, 302);
