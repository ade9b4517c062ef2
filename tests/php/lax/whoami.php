<?php
// Who is signed in, as JSON (identity.whoami in tests/php/lax.yaml reads /user).
require __DIR__ . '/users.php';

header('Content-Type: application/json');
echo json_encode(['user' => current_user()]);
