<?php
require __DIR__ . '/common.php';
header('Content-Type: application/json');
echo json_encode(['user' => current_user()]);
