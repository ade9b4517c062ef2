"""Fixtures for the legacy apps from Debian's packages (tests/legacy/apps.sh sets them up and
starts them; scripts/test installs the packages), each behind the gateway binary with its
config/examples file unchanged. Helpers are shared with the Django tests (tests/django/gwkit.py)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "django"))

APPS = os.path.join(HERE, "apps.sh")
RUN = "/var/lib/mfa-legacy/run"


def apps(*args):
    done = subprocess.run(["bash", APPS, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"apps.sh {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def legacy_workdir():
    d = tempfile.mkdtemp(prefix="mfa-legacy-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def legacy_apps():
    """Starts apps on demand (`legacy_apps("wordpress")`); stops them all at the end."""
    started = set()

    def start(name):
        if name not in started:
            apps("setup", name)
            apps("start", name)
            started.add(name)
        return RUN

    yield start
    if started:
        apps("stop", *sorted(started))


def gateway_in_front(legacy_apps, legacy_workdir, app, upstream, example):
    """Starts `app` and the gateway binary in front of it with config/examples/`example`."""
    from gwkit import ROOT, GatewayProcess
    legacy_apps(app)
    workdir = os.path.join(legacy_workdir, app)
    os.makedirs(workdir, exist_ok=True)
    return GatewayProcess(upstream, workdir, config=os.path.join(ROOT, "config", "examples", example))
