"""What the real-app tests share (Django here, PHP in tests/php): the gateway binary started on a
config of config/examples, an HTTP client that sends exactly the bytes it is given (paths such as
`/admin/%6Cogin/` untouched, repeated headers, any body), the gateway's audit trail, and an
RFC 6238 code generator written independently of the gateway's own.

Kept apart from conftest.py so that tests/django and tests/php, each with its own conftest.py,
can run in one pytest invocation (two modules both named `conftest` would shadow each other)."""
import base64
import hmac
import http.client
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.parse

import requests
from requests.adapters import HTTPAdapter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "config", "examples")
EXAMPLE = os.path.join(EXAMPLES, "django-admin.yaml")
DRF_EXAMPLE = os.path.join(EXAMPLES, "django-drf.yaml")
COOKIE_EXAMPLE = os.path.join(EXAMPLES, "cookie-session.yaml")
ARTIFACTS = os.path.join(ROOT, "target", "test-artifacts")
PASSWORD = "correct horse battery staple"
# Debian's chromium as the browser tests start it: headless, nothing fetched in the background.
CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]



def sign_in(page, base, username):
    """The Django admin's own sign-in form, in a Playwright page."""
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

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


# ---------------------------------------------------------------------------------------------
# The gateway


def derived_config(source, dest, mfa_extra):
    """`source` with `mfa_extra` (YAML lines at the indentation of an app's `mfa:` keys) added
    to every app's `mfa:` block: for switching the login throttles off in the differential
    tests, whose hundreds of refused logins from one address would otherwise lock it."""
    out = []
    with open(source) as f:
        for line in f:
            out.append(line)
            m = re.match(r"^(\s*)mfa:\s*$", line)
            if m:
                indent = m.group(1) + "  "
                out.extend(indent + extra + "\n" for extra in mfa_extra)
    with open(dest, "w") as f:
        f.writelines(out)
    return dest


NO_LOGIN_THROTTLES = [
    "regulation:",
    "  login_client: { failures: 0 }",
    "  login_user: { failures: 0 }",
]


class GatewayProcess:
    def __init__(self, upstream_url, workdir, config=EXAMPLE, data=None):
        binary = os.environ.get("MFA_GATEWAY_BIN", os.path.join(ROOT, "target", "debug", "mfa-gateway"))
        assert os.path.exists(binary), f"build the gateway first ({binary})"
        self.binary = binary
        self.config = config
        self.port = free_port()
        self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data or os.path.join(workdir, "data")
        self.env = dict(os.environ, MFA_LISTEN=f"127.0.0.1:{self.port}",
                        MFA_ADMIN_LISTEN=f"127.0.0.1:{self.admin_port}",
                        UPSTREAM_URL=upstream_url, MFA_DATA_DIR=self.data)
        self.log_path = os.path.join(workdir, f"gateway-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", "--config", config], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        try:
            wait_port(self.port, self.proc, "gateway")
        except Exception:
            self.stop()
            raise

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def audit_path(self):
        return os.path.join(self.data, "audit.jsonl")

    def records(self):
        try:
            with open(self.audit_path()) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def records_for(self, request_id, event=None, timeout=2.0):
        """The audit records of one request (by the X-Request-Id the gateway answered with),
        waiting briefly for them to be written."""
        deadline = time.time() + timeout
        while True:
            found = [r for r in self.records() if r.get("request_id") == request_id
                     and (event is None or r.get("event") == event)]
            if found or time.time() > deadline:
                return found
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Clients

_client_ips = itertools.count(2)
_client_ips_lock = threading.Lock()


def fresh_client_ip():
    """Another loopback address (127.0.0.N) to connect from: the gateway records some events
    (a stripped app cookie) once a minute per client address, and counts throttles per address,
    so a test that wants to see its own record comes from an address of its own."""
    with _client_ips_lock:
        n = next(_client_ips)
    return f"127.0.{n // 250}.{n % 250 + 2}"


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, ip, **kw):
        self._ip = ip
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._ip, 0)
        super().init_poolmanager(*args, **kw)


def client(ip=None):
    """A requests session connecting from `ip` (a fresh loopback address by default)."""
    s = requests.Session()
    adapter = _SourceAddressAdapter(ip or fresh_client_ip())
    s.mount("http://", adapter)
    return s


class Answer:
    """An HTTP answer as it came: status, every header line in order, the body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def get(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def get_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Answer {self.status} {self.headers!r} {self.body[:300]!r}>"


def send(port, method, target, headers=(), body=b"", source_ip=None, timeout=30):
    """Sends exactly this request line, these header lines (repeats kept, none added but Host
    when not given and Content-Length when there is a body) and these body bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source_ip, 0) if source_ip else None)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        names = {k.lower() for k, _ in headers}
        if "host" not in names:
            conn.putheader("Host", f"127.0.0.1:{port}")
        for k, v in headers:
            conn.putheader(k, v.encode("latin-1") if isinstance(v, str) else v)
        if body and "content-length" not in names and "transfer-encoding" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        data = r.read()
        return Answer(r.status, list(r.getheaders()), data)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# What the client must never get before the second factor


def cookie_name_canonical(name):
    """A cookie name the way the most lenient app stack reads it: percent-decoded, trimmed,
    lower-cased."""
    return urllib.parse.unquote(name).strip().lower()


def set_cookie_lines(answer):
    """Every Set-Cookie line of an answer (an Answer, or a requests response)."""
    if isinstance(answer, Answer):
        return answer.get_all("set-cookie")
    return answer.raw.headers.getlist("set-cookie")


def set_cookies(answer):
    """(name, value, attributes lower-cased) of each Set-Cookie line of an answer."""
    out = []
    for line in set_cookie_lines(answer):
        first, _, attrs = line.partition(";")
        name, _, value = first.partition("=")
        out.append((name, value.strip(), attrs.lower()))
    return out


def is_deletion(value, attrs):
    return value in ("", '""') or "max-age=0" in attrs.replace(" ", "") or "1970" in attrs


def app_cookies_set(answer, names):
    """The app session cookies (any spelling of `names`) an answer sets with a value."""
    wanted = {cookie_name_canonical(n) for n in names}
    return [(n, v) for n, v, a in set_cookies(answer)
            if cookie_name_canonical(n) in wanted and not is_deletion(v, a)]


def canonical_user(name, casefold=False):
    """A user name as the apps here compare it: NFKC (Django's login form), trimmed."""
    name = unicodedata.normalize("NFKC", name).strip()
    return name.lower() if casefold else name


def is_challenge(answer):
    """The gateway's answer to a login it withholds: a redirect to its code or enrollment page,
    or (API clients) JSON with mfa_required."""
    status = answer.status if isinstance(answer, Answer) else answer.status_code
    location = answer.get("location") if isinstance(answer, Answer) else answer.headers.get("location")
    if status in (302, 303) and location and location.startswith("/.mfa/"):
        return True
    if status == 200:
        body = answer.body if isinstance(answer, Answer) else answer.content
        try:
            return json.loads(body).get("mfa_required") is True
        except (ValueError, AttributeError):
            return False
    return False


# ---------------------------------------------------------------------------------------------
# The Django app: a throwaway project from PyPI's Django, with its admin, Django REST
# framework's token login, and small views that say whom the app signed in.

DJANGO_SETTINGS = '''
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS += ["rest_framework", "rest_framework.authtoken"]
# Fast password hashing: the differential tests send hundreds of logins (the gateway never sees
# how the app hashes).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
'''

DJANGO_URLS = '''
from django.contrib import admin
from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from legacysite import probes

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/token/", obtain_auth_token),
    path("api/whoami/", probes.api_whoami),
    path("whoami/", probes.whoami),
    path("magic/", probes.magic),
    path("api/v2/login/", probes.TokenLogin.as_view()),
]
'''

DJANGO_PROBES = '''
"""Views the tests use to ask the app whom it signed in, and a "magic link" that signs a user
in without a password (as password resets, sign-ups and "log in as" do)."""
from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpResponseForbidden, HttpResponseRedirect, JsonResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


def whoami(request):
    user = request.user
    return JsonResponse({"user": user.get_username() if user.is_authenticated else None})


@api_view(["GET"])
@authentication_classes([TokenAuthentication])
@permission_classes([AllowAny])
def api_whoami(request):
    user = request.user
    return Response({"user": user.get_username() if user.is_authenticated else None})


class TokenLogin(APIView):
    """A second token endpoint (as dj-rest-auth adds one) the gateway's rules do not name, with
    DRF's default renderers: JSON, or the browsable API's HTML for a client that asks."""
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        user = authenticate(request, username=request.data.get("username"),
                            password=request.data.get("password"))
        if user is None:
            return Response({"detail": "bad credentials"}, status=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def magic(request):
    name = request.GET.get("user", "")
    if request.GET.get("token") != "magic-" + name:
        return HttpResponseForbidden("bad link")
    user = get_user_model().objects.get(username=name)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect("/admin/")
'''


class DjangoSite:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "site")
        os.makedirs(self.dir)
        py = sys.executable
        subprocess.run([py, "-m", "django", "startproject", "legacysite", self.dir], check=True)
        pkg = os.path.join(self.dir, "legacysite")
        with open(os.path.join(pkg, "settings.py"), "a") as f:
            f.write(DJANGO_SETTINGS)
        with open(os.path.join(pkg, "urls.py"), "w") as f:
            f.write(DJANGO_URLS)
        with open(os.path.join(pkg, "probes.py"), "w") as f:
            f.write(DJANGO_PROBES)
        self.manage(["migrate", "--noinput"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, "django.log"), "w")
        self.proc = subprocess.Popen(
            [py, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self._known = set()
        try:
            wait_port(self.port, self.proc, "django")
        except Exception:
            self.stop()
            raise

    def manage(self, args, **kw):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=self.dir, check=True,
                              capture_output=True, text=True, **kw)

    def add_admin(self, username):
        self.manage(["shell", "-c",
                     "from django.contrib.auth.models import User;"
                     f"User.objects.create_superuser({username!r}, {username + '@example.com'!r}, {PASSWORD!r})"])

    def ensure_admins(self, *names):
        """Superusers that several modules share (alice, bob), created once."""
        todo = [n for n in names if n not in self._known]
        if todo:
            self.manage(["shell", "-c",
                         "from django.contrib.auth.models import User\n"
                         f"for n in {todo!r}:\n"
                         "    User.objects.filter(username=n).exists() or "
                         f"User.objects.create_superuser(n, n + '@example.com', {PASSWORD!r})"])
            self._known.update(todo)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def django_csrf(base, session=None):
    """A CSRF cookie and a token for it from the admin's login page (the token works for any
    number of posts as long as the cookie is sent along)."""
    s = session or requests.Session()
    page = s.get(f"{base}/admin/login/", allow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    return s.cookies["csrftoken"], form_value(page.text, "csrfmiddlewaretoken")
