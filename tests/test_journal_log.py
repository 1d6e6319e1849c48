"""Logs under systemd's journal: no second timestamp, one entry per event."""

from __future__ import annotations

import os
import subprocess
import sys

from hall.journal_log import JournalFormatter, under_journal

CHILD = """
import logging, sys
from hall.journal_log import setup
setup()
log = logging.getLogger("caller.service")
log.warning("refused issue from K1: bad_request")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("internal error on kiosk.issue K1")
"""


def run_child(env_extra: dict, tmp_path):
    err = tmp_path / "stderr"
    with open(err, "wb") as f:
        st = os.fstat(f.fileno())
        env = {**os.environ, **{k: v.format(dev=st.st_dev, ino=st.st_ino) for k, v in env_extra.items()}}
        env.pop("JOURNAL_STREAM", None) if not env_extra else None
        subprocess.run([sys.executable, "-c", CHILD], env=env, stderr=f, check=True)
    return err.read_text(encoding="utf-8").splitlines()


def test_under_the_journal_one_line_per_event_without_timestamp(tmp_path):
    lines = run_child({"JOURNAL_STREAM": "{dev}:{ino}"}, tmp_path)
    assert lines[0] == "<4>caller.service: refused issue from K1: bad_request"
    assert len(lines) == 2, lines  # the traceback stays inside its event
    assert lines[1].startswith("<3>caller.service: internal error on kiosk.issue K1 ⏎ Traceback")
    assert "ZeroDivisionError" in lines[1]


def test_on_a_terminal_the_timestamp_stays(tmp_path):
    lines = run_child({}, tmp_path)
    assert lines[0].endswith("WARNING caller.service: refused issue from K1: bad_request")
    assert lines[0][:4].isdigit()  # asctime first
    assert len(lines) > 2  # the traceback on its own lines, for a person reading


def test_journal_stream_of_another_file_is_not_ours(tmp_path):
    with open(tmp_path / "x", "w") as f:
        os.environ["JOURNAL_STREAM"] = "1:2"
        try:
            assert not under_journal(f)
        finally:
            del os.environ["JOURNAL_STREAM"]


def test_formatter_levels():
    import logging
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "a\nb", None, None)
    assert JournalFormatter().format(rec) == "<6>x: a ⏎ b"
