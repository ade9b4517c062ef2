"""Helpers of the legacy-app tests: tests/legacy/apps.sh (which sets the apps up and starts
them), and the gateway binary in front of an app with its config/examples file unchanged.
(Not in conftest.py: test modules import these by name, and every test folder has a conftest.)"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "django"))

from gwkit import ROOT, GatewayProcess  # noqa: E402

APPS = os.path.join(HERE, "apps.sh")
RUN = "/var/lib/mfa-legacy/run"


def apps(*args):
    done = subprocess.run(["bash", APPS, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"apps.sh {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def gateway_in_front(legacy_apps, legacy_workdir, app, upstream, example):
    """Starts `app` and the gateway binary in front of it with config/examples/`example`."""
    legacy_apps(app)
    workdir = os.path.join(legacy_workdir, app)
    os.makedirs(workdir, exist_ok=True)
    return GatewayProcess(upstream, workdir, config=os.path.join(ROOT, "config", "examples", example))
