"""Differential tests against Django (SECURITY-TESTS.md items 25-27): several hundred spellings of
one login (shapes.py), each sent straight to Django and through the gateway (differential.py).
Whenever Django would sign in X, the gateway challenges X or refuses; it never lets Django's
session or token out before a code and never challenges anyone else. The summary table is printed
at the end of the run and written to target/test-artifacts/differential-*.txt.

The gateway runs config/examples/django-drf.yaml with only the login throttles switched off (most
shapes are logins Django refuses, and hundreds of those from one address would lock it)."""
import pytest
import requests

from differential import SUMMARIES, AppProbe, run
from gwkit import DRF_EXAMPLE, NO_LOGIN_THROTTLES, GatewayProcess, derived_config, django_csrf
from shapes import Target, generate
from test_django_admin import enroll


@pytest.fixture(scope="module")
def diff_gateway(django_site, tmp_path_factory):
    django_site.ensure_admins("alice", "bob")
    d = tmp_path_factory.mktemp("differential")
    config = derived_config(DRF_EXAMPLE, str(d / "django-drf.yaml"), NO_LOGIN_THROTTLES)
    gw = GatewayProcess(django_site.url, str(d), config=config)
    try:
        # alice enrolled (her challenges are at the verify step); bob not (his are enrollments).
        enroll(requests.Session(), gw.url, "alice")
        yield gw
    finally:
        gw.stop()


def check(name, outcomes):
    mismatches = [o for o in outcomes if o.verdict.startswith("MISMATCH")]
    assert sum(o.app_user is not None for o in outcomes) > 50, "too few shapes signed anyone in"
    assert not mismatches, SUMMARIES[name]


def test_differential_django_admin_login(django_site, diff_gateway):
    cookie, token = django_csrf(django_site.url)
    target = Target("django-admin", "/admin/login/", "username", "form")
    probe = AppProbe(django_site.port, cookie_names=["sessionid"], whoami_path="/whoami/",
                     extra_headers=[("Cookie", f"csrftoken={cookie}"), ("X-CSRFToken", token)])
    shapes = generate(target)
    assert len(shapes) >= 300
    check("django-admin", run("django-admin", shapes, probe, diff_gateway))


def test_differential_drf_token_login(django_site, diff_gateway):
    target = Target("django-drf", "/api/token/", "username", "json",
                    extra_paths=["/%61pi/token/", "/API/token/", "/api;x=1/token/"])
    probe = AppProbe(django_site.port, token_scheme="Token", token_whoami="/api/whoami/",
                     extra_headers=[("Accept", "application/json")])
    shapes = generate(target)
    assert len(shapes) >= 200
    check("django-drf", run("django-drf", shapes, probe, diff_gateway))
