<?php
require __DIR__ . '/common.php';
$_SESSION = []; session_destroy();
setcookie(session_name(), '', ['expires' => 1, 'path' => '/']);
setcookie('wiki_user', '', ['expires' => 1, 'path' => '/']);
header('Location: /index.php', true, 302);
