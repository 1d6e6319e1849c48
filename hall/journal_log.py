"""Logging set-up that suits both a terminal and systemd's journal.

Under systemd, stderr is a stream into journald, which stamps every entry with
its own time, host and unit: a second timestamp from Python only doubles the
line.  systemd says so through ``$JOURNAL_STREAM`` (``device:inode`` of the
stream); we check it is really our stderr (a child of a unit may inherit the
variable with stderr redirected elsewhere).  A traceback would become one
journal entry per line, so under the journal the lines of one record are
joined: one event, one entry.  ``<N>`` prefixes carry the level as syslog
priorities, so ``journalctl -p warning`` works.
"""

from __future__ import annotations

import logging
import os
import sys

# syslog priorities (sd-daemon(3) prefixes)
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def under_journal(stream=None) -> bool:
    js = os.environ.get("JOURNAL_STREAM", "")
    if not js:
        return False
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return js == f"{st.st_dev}:{st.st_ino}"


class JournalFormatter(logging.Formatter):
    """``<prio>name: message`` on one line; a traceback's lines joined with `` ⏎ ``."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return f"<{prio}>" + super().format(record).replace("\n", " ⏎ ")


def setup(verbose: bool = False, stream=None) -> None:
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    if under_journal(stream):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
