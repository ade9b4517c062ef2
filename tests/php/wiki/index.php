<?php
require __DIR__ . '/common.php';
@mkdir(store());
$action = $_REQUEST['action'] ?? 'view';
$user = current_user();
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    if (($_POST['token'] ?? '') !== $_SESSION['token']) { page('Error', '<p>Bad form token.</p>', 400); exit; }
    if ($action === 'login') {
        $name = strtolower(trim((string)($_POST['user'] ?? '')));
        if (isset(USERS[$name]) && hash_equals(USERS[$name], (string)($_POST['password'] ?? ''))) {
            $_SESSION['user'] = $name;                      // same session id: no regenerate
            // The API client (format=json, as MediaWiki's api.php) keeps its session cookie
            // and needs no "Hello, NAME" cookie: a JSON answer, no Set-Cookie.
            if (($_POST['format'] ?? '') === 'json') {
                header('Content-Type: application/json');
                echo json_encode(['login' => ['result' => 'Success', 'user' => $name]]);
                exit;
            }
            setcookie('wiki_user', $name, ['path' => '/']);
            header('Location: /index.php', true, 302);
            exit;
        }
        page('Sign in', '<p>Wrong user name or password.</p>', 200);
        exit;
    }
    if ($user === null) { page('Forbidden', '<p>Sign in first.</p>', 403); exit; }
    $p = preg_replace('/[^A-Za-z0-9]/', '', (string)($_POST['page'] ?? 'Home'));
    if ($action === 'edit') {
        file_put_contents(store() . "/$p", "[$user] " . (string)($_POST['content'] ?? ''));
        header('Location: /index.php?page=' . $p, true, 302);
        exit;
    }
    if ($action === 'preview') {   // renders the page as the signed-in user sees it
        $notes = @file_get_contents(store() . "/notes-$user") ?: "(private notes of $user)";
        page('Preview', '<p>Preview for ' . htmlspecialchars($user) . '</p><pre>' . htmlspecialchars($notes) . '</pre>');
        exit;
    }
    page('Error', '<p>Unknown action</p>', 400);
    exit;
}
if ($action === 'login') {
    page('Sign in', '<form method="post" action="/index.php"><input type="hidden" name="action" value="login">'
        . '<input type="hidden" name="token" value="' . $_SESSION['token'] . '">'
        . '<input name="user"><input name="password" type="password"><button>Sign in</button></form>');
    exit;
}
$p = preg_replace('/[^A-Za-z0-9]/', '', (string)($_GET['page'] ?? 'Home'));
if ($user === null) { page('Wiki', '<p>Not signed in. <a href="/index.php?action=login">Sign in</a></p>'); exit; }
page('Wiki', '<p>Hello, ' . htmlspecialchars($user) . '</p><pre>' . htmlspecialchars(@file_get_contents(store() . "/$p") ?: '') . '</pre>');
