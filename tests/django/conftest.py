"""Fixtures for the Django tests: a throwaway Django project from PyPI's Django, the gateway
binary in front of it with config/examples/django-admin.yaml unchanged, and an RFC 6238 code
generator written independently of the gateway's own."""
import base64
import hmac
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "config", "examples", "django-admin.yaml")
ARTIFACTS = os.path.join(ROOT, "target", "test-artifacts")
PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} in time")


def totp(secret_b32, offset=0):
    """RFC 6238, SHA-1, 6 digits, 30 s: what an authenticator app computes."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() + offset) // 30)
    mac = hmac.new(key, counter.to_bytes(8, "big"), "sha1").digest()
    o = mac[-1] & 15
    return f"{(int.from_bytes(mac[o:o + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def form_value(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    assert m, f"no {name} field in page:\n{html[:2000]}"
    return m.group(1)


def enrollment_secret(html):
    m = re.search(r'id="secret">([A-Z2-7 ]+)<', html)
    assert m, "no secret on the enrollment page"
    return m.group(1).replace(" ", "")


def recovery_codes(html):
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", html)


class DjangoSite:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "site")
        os.makedirs(self.dir)
        py = sys.executable
        subprocess.run([py, "-m", "django", "startproject", "legacysite", self.dir], check=True)
        with open(os.path.join(self.dir, "legacysite", "settings.py"), "a") as f:
            f.write('\nALLOWED_HOSTS = ["*"]\n')
        self.manage([ "migrate", "--noinput"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, "django.log"), "w")
        self.proc = subprocess.Popen(
            [py, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.proc, "django")

    def manage(self, args, **kw):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=self.dir, check=True,
                              capture_output=True, text=True, **kw)

    def add_admin(self, username):
        self.manage(["shell", "-c",
                     "from django.contrib.auth.models import User;"
                     f"User.objects.create_superuser({username!r}, {username + '@example.com'!r}, {PASSWORD!r})"])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


class GatewayProcess:
    def __init__(self, upstream_url, workdir):
        binary = os.environ.get("MFA_GATEWAY_BIN", os.path.join(ROOT, "target", "debug", "mfa-gateway"))
        assert os.path.exists(binary), f"build the gateway first ({binary})"
        self.port = free_port()
        self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = os.path.join(workdir, "data")
        env = dict(os.environ, MFA_LISTEN=f"127.0.0.1:{self.port}",
                   MFA_ADMIN_LISTEN=f"127.0.0.1:{self.admin_port}",
                   UPSTREAM_URL=upstream_url, MFA_DATA_DIR=self.data)
        self.log_path = os.path.join(workdir, "gateway.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", "--config", EXAMPLE], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        wait_port(self.port, self.proc, "gateway")

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="mfa-django-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def django_site(workdir):
    site = DjangoSite(workdir)
    yield site
    site.stop()


_users = iter(range(1, 10_000))


@pytest.fixture
def admin_user(django_site):
    """A fresh Django superuser for each test, so each one starts unenrolled."""
    name = f"admin{next(_users)}"
    django_site.add_admin(name)
    return name


@pytest.fixture
def gateway(django_site, tmp_path):
    gw = GatewayProcess(django_site.url, str(tmp_path))
    yield gw
    gw.stop()
