"""Fixtures for the Django tests: a throwaway Django project from PyPI's Django (its admin, Django
REST framework's token login and small "who am I" views), the gateway binary in front of it with
config/examples/django-admin.yaml or django-drf.yaml unchanged.

Test modules import their helpers from gwkit.py, never `from conftest import ...`: tests/php has a
conftest.py too, and in one pytest run the two would shadow each other as the module `conftest`."""
import shutil
import tempfile

import pytest

from gwkit import DjangoSite, GatewayProcess


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


def pytest_terminal_summary(terminalreporter):
    """The differential tables, for the record (also under target/test-artifacts/)."""
    from differential import SUMMARIES
    for name, text in SUMMARIES.items():
        if name.startswith("django"):
            terminalreporter.write_line("")
            terminalreporter.write_line(text)
