"""`onewindow demo` runs a simulated hour end to end and ends with an honest summary."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.broker


def test_demo_runs_a_simulated_hour():
    out = subprocess.run(
        [sys.executable, "-m", "hall.cli", "demo", "--minutes", "40", "--speed", "400", "--plain", "--seed", "7"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "=== demo summary ===" in text
    issued = int(re.search(r"tickets issued: (\d+)", text).group(1))
    assert issued > 50
    done = int(re.search(r"'done': (\d+)", text).group(1))
    assert done > 10
    assert "numbers unique: True" in text
    assert "企业开办区" in text  # the board shows the zones
