"""What a test needs from the machine, and what happens when it is missing.

``@needs("mosquitto")`` marks a test that needs a system tool.  When the tool
is missing the test FAILS with the Debian package to install, so a machine
without mosquitto or espeak-ng cannot turn the suite green by skipping; with
``ONEWINDOW_ALLOW_SKIPS=1`` it is skipped instead (a laptop without the
packages, on purpose).  ``make bootstrap`` installs all of them when run as root.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Callable

import pytest

ALLOW = "ONEWINDOW_ALLOW_SKIPS"


def _mosquitto() -> bool:
    from hall.broker import find_mosquitto
    return find_mosquitto() is not None


# tool → (how to get it, is it here?)
NEEDS: dict[str, tuple[str, Callable[[], bool]]] = {
    "mosquitto": ("the Debian package mosquitto", _mosquitto),
    "espeak-ng": ("the Debian package espeak-ng", lambda: shutil.which("espeak-ng") is not None),
    "sox": ("the Debian package sox", lambda: shutil.which("sox") is not None),
    "mosquitto_passwd": ("the Debian package mosquitto", lambda: shutil.which("mosquitto_passwd") is not None),
    "systemd-analyze": ("the Debian package systemd", lambda: shutil.which("systemd-analyze") is not None),
    "chromium": ("the Debian packages chromium and chromium-driver",
                 lambda: shutil.which("chromium") is not None and os.path.exists("/usr/bin/chromedriver")),
    "evdev": ("the Python package evdev (`make bootstrap`: the `input` extra; Debian python3-evdev)",
              lambda: importlib.util.find_spec("evdev") is not None),
    "amqtt": ("the Python package amqtt (`make bootstrap`: the `embedded` extra)",
              lambda: importlib.util.find_spec("amqtt") is not None),
}


def needs(*tools: str) -> pytest.MarkDecorator:
    unknown = [t for t in tools if t not in NEEDS]
    if unknown:
        raise ValueError(f"unknown need {unknown}; one of {sorted(NEEDS)}")
    return pytest.mark.needs(*tools)


def missing_message(tools) -> str | None:
    """Why the tests that need ``tools`` cannot run here (None: all present)."""
    gone = [t for t in tools if not NEEDS[t][1]()]
    if not gone:
        return None
    return "; ".join(f"needs {t}: install {NEEDS[t][0]}" for t in gone)


def check(tools, env=os.environ, module_level: bool = False) -> None:
    """Fail (or, with ONEWINDOW_ALLOW_SKIPS=1, skip) when a tool is missing."""
    why = missing_message(tools)
    if why is None:
        return
    if env.get(ALLOW) == "1":
        pytest.skip(why, allow_module_level=module_level)
    pytest.fail(f"{why} (or set {ALLOW}=1 to skip such tests)", pytrace=False)


def import_needed(module: str):
    """``import module`` for a test module that needs it throughout (its name is in NEEDS)."""
    check([module], module_level=True)
    return importlib.import_module(module)


def require_unless_allowed(tools, env=os.environ) -> None:
    """For a need with a weaker fallback (the embedded broker for mosquitto): fail
    unless ONEWINDOW_ALLOW_SKIPS=1, then the caller falls back instead of skipping."""
    if env.get(ALLOW) != "1":
        check(tools, env)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "needs(*tools): the test needs these tools (see tests/needs.py)")


def pytest_runtest_setup(item) -> None:
    for mark in item.iter_markers("needs"):
        check(mark.args)
