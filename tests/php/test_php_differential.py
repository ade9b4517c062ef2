"""Differential test against the PHP app (SECURITY-TESTS.md items 25-27): several hundred spellings
of one login (tests/django/shapes.py), each sent straight to PHP and through the gateway
(tests/django/differential.py). PHP has its own ways of reading a form: the last of repeated
fields wins, `user[]` is an array, leading spaces and anything after a NUL in a field name are
dropped, `.` and ` ` become `_`, and `/login.php/anything` runs login.php. Whenever PHP would sign
in X, the gateway challenges X or refuses; PHPSESSID never reaches the client before a code.

The gateway runs config/examples/cookie-session.yaml with only the login throttles switched off."""
import pytest

from differential import SUMMARIES, AppProbe, run
from gwkit import COOKIE_EXAMPLE, NO_LOGIN_THROTTLES, GatewayProcess, derived_config
from shapes import Target, generate
from test_php_app import enroll


@pytest.fixture(scope="module")
def php_diff_gateway(php_site, tmp_path_factory):
    d = tmp_path_factory.mktemp("php-differential")
    config = derived_config(COOKIE_EXAMPLE, str(d / "cookie-session.yaml"), NO_LOGIN_THROTTLES)
    gw = GatewayProcess(php_site.url, str(d), config=config)
    try:
        enroll(gw.url, "alice")      # alice at the verify step, bob at enrollment
        yield gw
    finally:
        gw.stop()


def test_differential_php_login(php_site, php_diff_gateway):
    target = Target("php", "/login.php", "user", "form", casefold=True,
                    extra_paths=["/%6Cogin.php", "/login.php/x", "/login.php%2F", "/index.php/../login.php"])
    probe = AppProbe(php_site.port, cookie_names=["PHPSESSID"], whoami_path="/whoami.php", casefold=True)
    shapes = generate(target)
    assert len(shapes) >= 300
    outcomes = run("php", shapes, probe, php_diff_gateway, workers=4)
    assert sum(o.app_user is not None for o in outcomes) > 50, "too few shapes signed anyone in"
    assert not [o for o in outcomes if o.verdict.startswith("MISMATCH")], SUMMARIES["php"]
