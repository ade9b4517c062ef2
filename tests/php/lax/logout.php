<?php
require __DIR__ . '/users.php';

$_SESSION = [];
session_destroy();
setcookie(session_name(), '', ['expires' => 1, 'path' => '/']);
setcookie('auth', '', ['expires' => 1, 'path' => '/']);
header('Location: /login.php', true, 302);
