"""The PHP apps of tests/php served by PHP's own web server (`php -S`), the way an old PHP
intranet runs: tests/php/app (a form login on /login.php, field `user`, a PHPSESSID session)
and tests/php/lax (the same, done the lax ways of issue 17)."""
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "django"))

from gwkit import free_port, wait_port  # noqa: E402

APP_DIR = os.path.join(HERE, "app")
LAX_APP_DIR = os.path.join(HERE, "lax")
WIKI_APP_DIR = os.path.join(HERE, "wiki")
RESET_TOKENS = {"alice": "reset-alice", "bob": "reset-bob"}


class PhpSite:
    def __init__(self, workdir, app_dir=APP_DIR, env=None):
        self.sessions = os.path.join(workdir, "php-sessions")
        os.makedirs(self.sessions, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, "php.log"), "w")
        # Several workers, so that the differential tests can send requests side by side.
        env = dict(os.environ, PHP_CLI_SERVER_WORKERS="4", **(env or {}))
        self.proc = subprocess.Popen(
            ["php", "-d", f"session.save_path={self.sessions}", "-d", "display_errors=stderr",
             "-S", f"127.0.0.1:{self.port}", "-t", app_dir],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)        # its workers are stopped with it, as one group
        try:
            wait_port(self.port, self.proc, "php")
        except Exception:
            self.stop()
            raise

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.log.close()
