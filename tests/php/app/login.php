<?php
require __DIR__ . '/users.php';

$error = '';
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $typed = $_POST['user'] ?? '';
    $password = $_POST['password'] ?? '';
    if (is_string($typed) && is_string($password)) {
        $name = strtolower(trim($typed));
        if (isset(USERS[$name]) && hash_equals(USERS[$name], $password)) {
            sign_in($name);
            header('Location: /index.php', true, 302);
            exit;
        }
    }
    $error = '<p class="error">Wrong user name or password.</p>';
}
page('Sign in', $error . '<form method="post" action="/login.php">'
    . '<label>User <input name="user"></label> '
    . '<label>Password <input name="password" type="password"></label> '
    . '<button>Sign in</button></form>');
