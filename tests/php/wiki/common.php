<?php
// A small legacy wiki (a fixture from the attacker's review of issue 17): one entry point
// (index.php?action=...), a session on every page holding the form token, the session id kept at sign-in (no session_regenerate_id: PHP's default), and a
// `wiki_user` cookie with the name for the "Hello, NAME" header (as MediaWiki's UserName cookie).
const USERS = ['alice' => 'correct horse battery staple', 'bob' => 'correct horse battery staple'];
session_start();
if (!isset($_SESSION['token'])) { $_SESSION['token'] = bin2hex(random_bytes(8)); }
function current_user(): ?string { return $_SESSION['user'] ?? null; }
function store(): string { return getenv('WIKI_STORE') ?: (sys_get_temp_dir() . '/wiki-store'); }
function page(string $title, string $body, int $status = 200): void {
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    echo "<!doctype html><title>" . htmlspecialchars($title) . "</title><body>$body</body>";
}
