<?php
// Who is signed in on this session, as JSON. The gateway asks it too (identity.whoami in
// config/examples/cookie-session.yaml reads /account/name).
require __DIR__ . '/users.php';

header('Content-Type: application/json');
$user = current_user();
echo json_encode(['user' => $user, 'account' => $user === null ? null : ['name' => $user]]);
