<?php
require __DIR__ . '/users.php';

$user = current_user();
if ($user === null) {
    page('Intranet', '<p>Not logged in. <a href="/login.php">Sign in</a></p>');
} else {
    page('Intranet', '<p>Welcome, ' . htmlspecialchars($user) . '</p>'
        . '<p><a href="/logout.php">Sign out</a></p>');
}
