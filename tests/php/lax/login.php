<?php
// The sign-in form, and (as wikis and trackers do on one entry point) uploads and page edits on
// the same path: a multipart file `file`, a raw body with ?upload=1, a urlencoded `content`.
require __DIR__ . '/users.php';

function needs_user(): void
{
    if (current_user() === null) {
        page('Forbidden', '<p>Sign in first.</p>', 403);
        exit;
    }
}

if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $type = strtolower(trim(explode(';', $_SERVER['CONTENT_TYPE'] ?? '')[0]));
    if (isset($_GET['upload']) && in_array($type, ['application/octet-stream', 'text/plain'], true)) {
        needs_user();
        $n = strlen(file_get_contents('php://input'));
        header('Content-Type: text/plain');
        echo "stored $n bytes\n";
        exit;
    }
    if (isset($_FILES['file'])) {
        needs_user();
        if ($_FILES['file']['error'] !== UPLOAD_ERR_OK) {
            page('Upload', '<p>Upload failed: ' . (int)$_FILES['file']['error'] . '</p>', 400);
            exit;
        }
        header('Content-Type: text/plain');
        echo 'stored ' . filesize($_FILES['file']['tmp_name']) . " bytes\n";
        exit;
    }
    if (!isset($_POST['user']) && isset($_POST['content'])) {
        needs_user();
        header('Content-Type: text/plain');
        echo 'saved ' . strlen((string)$_POST['content']) . " bytes\n";
        exit;
    }
    $name = check_password($_POST['user'] ?? '', $_POST['password'] ?? '');
    if ($name !== null) {
        sign_in($name, ($_POST['remember'] ?? '') === '1');
        header('Location: /index.php', true, 302);
        exit;
    }
    page('Sign in', '<p class="error">Wrong user name or password.</p>' . form());
    exit;
}
page('Sign in', form());

function form(): string
{
    return '<form method="post" action="/login.php">'
        . '<label>User <input name="user"></label> '
        . '<label>Password <input name="password" type="password"></label> '
        . '<label><input type="checkbox" name="remember" value="1"> Remember me</label> '
        . '<button>Sign in</button></form>';
}
