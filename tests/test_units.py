"""Every systemd unit in systemd/: `systemd-analyze verify` clean and
`systemd-analyze security` at most 4.0, with the notify watchdog and start
limits where they belong."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.units import UNIT_DIR, verify_root
from tests.needs import needs

UNITS = sorted(UNIT_DIR.glob("onewindow-*.service")) + sorted(UNIT_DIR.glob("onewindow-*.timer"))
SERVICES = [u for u in UNITS if u.suffix == ".service"]
MAX_EXPOSURE = 4.0

needs_analyze = needs("systemd-analyze")


def sections(unit: Path) -> configparser.RawConfigParser:
    cp = configparser.RawConfigParser(strict=False, delimiters=("=",), interpolation=None)
    cp.optionxform = str  # keys are case-sensitive
    # repeated keys (DeviceAllow=, LoadCredential=) are fine for this check
    cp.read_string(re.sub(r"^\s*#.*$", "", unit.read_text(), flags=re.M))
    return cp


def test_there_are_units_for_every_role():
    names = {u.name for u in UNITS}
    for n in ("caller", "sms", "web", "metrics", "kiosk", "display", "announcer", "bridge", "backup"):
        assert f"onewindow-{n}.service" in names
    assert "onewindow-backup.timer" in names


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_service_shape(unit):
    cp = sections(unit)
    svc, u = cp["Service"], cp["Unit"]
    assert svc["UMask"] == "0077", "database and journal files must be 0600"
    assert svc["ExecStart"].startswith("/opt/onewindow/current/bin/onewindow ")
    if svc["Type"] == "oneshot":
        return
    assert svc["Type"] == "notify" and svc["NotifyAccess"] == "main"
    assert int(svc["WatchdogSec"]) > 0
    # StartLimit* belong in [Unit] (systemd ignores them in [Service])
    assert "StartLimitIntervalSec" in u and "StartLimitBurst" in u
    assert not any(k.startswith("StartLimit") for k in svc)


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify_is_clean(unit, tmp_path):
    root = verify_root(tmp_path / "root", [unit])
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", unit.name],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr + r.stdout


@needs_analyze
@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_systemd_analyze_security_at_most_4(unit, tmp_path):
    copy = tmp_path / unit.name
    shutil.copy(unit, copy)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(copy)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout[-500:]
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
