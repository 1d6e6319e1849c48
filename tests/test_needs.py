"""A test that needs a missing tool fails the run, naming the Debian package, unless
ONEWINDOW_ALLOW_SKIPS=1 (then it is skipped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

PROBE = '''
from tests.needs import needs

@needs("espeak-ng")
def test_speaks():
    pass
'''


def run(tmp_path, **env):
    (tmp_path / "test_probe.py").write_text(PROBE)
    # no espeak-ng on this PATH: the tool is "missing"
    e = {k: v for k, v in os.environ.items() if k != "ONEWINDOW_ALLOW_SKIPS"} | {
        "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.needs",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
                          cwd=tmp_path, env=e, capture_output=True, text=True, timeout=120)


def test_missing_tool_fails_and_names_the_debian_package(tmp_path):
    r = run(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "needs espeak-ng: install the Debian package espeak-ng" in r.stdout
    assert "1 error" in r.stdout  # failed in setup: counted as an error, never as passed


def test_allowed_skips_skip(tmp_path):
    r = run(tmp_path, ONEWINDOW_ALLOW_SKIPS="1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 skipped" in r.stdout
