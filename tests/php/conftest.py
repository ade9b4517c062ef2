"""Fixtures for the PHP tests: tests/php/app served by `php -S` (Debian's php-cli), the gateway
binary in front of it with config/examples/cookie-session.yaml unchanged; tests/php/lax (the
lax app of issue 17) the same way, behind tests/php/lax.yaml. Helpers are shared with the Django
tests (tests/django/gwkit.py)."""
import os
import shutil
import tempfile

import pytest

from phpkit import LAX_APP_DIR, WIKI_APP_DIR, PhpSite


@pytest.fixture(scope="session")
def php_workdir():
    d = tempfile.mkdtemp(prefix="mfa-php-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def php_site(php_workdir):
    site = PhpSite(php_workdir)
    yield site
    site.stop()


def _site(php_workdir, name, app_dir, env=None):
    """A PHP app of tests/php with its own session files and log under `name`."""
    workdir = os.path.join(php_workdir, name)
    os.makedirs(workdir, exist_ok=True)
    return PhpSite(workdir, app_dir=app_dir, env=env)


@pytest.fixture(scope="session")
def lax_site(php_workdir):
    """tests/php/lax, the lax app of issue 17."""
    site = _site(php_workdir, "lax", LAX_APP_DIR)
    yield site
    site.stop()


@pytest.fixture(scope="session")
def wiki_site(php_workdir):
    """tests/php/wiki, with its own page store."""
    site = _site(php_workdir, "wiki", WIKI_APP_DIR,
                 env={"WIKI_STORE": os.path.join(php_workdir, "wiki", "pages")})
    yield site
    site.stop()


def pytest_terminal_summary(terminalreporter):
    """The differential table, for the record (also under target/test-artifacts/)."""
    from differential import SUMMARIES
    for name, text in SUMMARIES.items():
        if name.startswith("php"):
            terminalreporter.write_line("")
            terminalreporter.write_line(text)
