<?php
require __DIR__ . '/users.php';

$user = current_user();
if ($user === null) {
    page('Lax intranet', '<p>Not signed in. <a href="/login.php">Sign in</a></p>');
} else {
    page('Lax intranet', '<p>Private page of ' . htmlspecialchars($user) . '</p>'
        . '<p><a href="/logout.php">Sign out</a></p>');
}
