"""Fixtures for the PHP tests: tests/php/app served by `php -S` (Debian's php-cli), the gateway
binary in front of it with config/examples/cookie-session.yaml unchanged. Helpers are shared
with the Django tests (tests/django/gwkit.py)."""
import shutil
import tempfile

import pytest

from phpkit import PhpSite


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


def pytest_terminal_summary(terminalreporter):
    """The differential table, for the record (also under target/test-artifacts/)."""
    from differential import SUMMARIES
    for name, text in SUMMARIES.items():
        if name.startswith("php"):
            terminalreporter.write_line("")
            terminalreporter.write_line(text)
