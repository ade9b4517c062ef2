"""Fixtures for the legacy apps from Debian's packages (tests/legacy/apps.sh sets them up and
starts them; scripts/test installs the packages). Helpers are in legacykit.py."""
import shutil
import tempfile

import pytest

from legacykit import apps


@pytest.fixture(scope="session")
def legacy_workdir():
    d = tempfile.mkdtemp(prefix="mfa-legacy-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def legacy_apps():
    """Starts apps on demand (`legacy_apps("wordpress")`); stops them at the end."""
    started = set()

    def start(name):
        if name not in started:
            apps("setup", name)
            apps("start", name)
            started.add(name)

    yield start
    if started:
        apps("stop", *sorted(started))
