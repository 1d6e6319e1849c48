"""The adapter process: watch the inbox, send each file's rows, write results.

One worker thread polls the inbox every ``interval`` seconds (a drop folder
on a share: inotify does not see writes made on another machine) and takes
the ``*.csv`` files in name order, so a batch that names its files by time
is applied in order. The outside system writes a file under another name
(``*.tmp``) and renames it, so a half-written file is never read.

A row the engine refuses (a stage the timeline does not allow, an unknown
matter) is written to the result file and the next row goes on. When the
engine cannot be reached (offline, timeout, busy), the file stays where it is
and the whole file is sent again on the next pass: its rows' request ids are
the same, so the engine answers what it already did from its idempotency
records (and an open is idempotent by ``ref`` in any case).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

from hall import sdnotify
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.topics import REGISTRY

from .csvdrop import BadRow, Row, parse, render_results, result_line

log = logging.getLogger("caseadapter")

TRANSIENT = ("offline", "timeout", "busy", "rate_limited")

Call = Callable[[str, dict[str, Any], str], Any]  # (op, body, request id) → reply data


class Source(Protocol):
    """Where an outside system's events come from (a drop folder, an HTTP feed)."""

    def run_pass(self, call: Call, stopped: Callable[[], bool]) -> None: ...

    def where(self) -> str: ...


class Inbox:
    """The drop folder: files to take, results to leave. No bus: testable alone."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.done = self.folder / "done"

    def pending(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.csv") if p.is_file())

    def run_pass(self, call: Call, stopped: Callable[[], bool]) -> None:
        """One look at the folder: every file in name order, until one cannot be sent."""
        for path in self.pending():
            if stopped() or not self.process(path, call):
                break

    def where(self) -> str:
        return f"inbox {self.folder}"

    def process(self, path: Path, call: Call) -> bool:
        """Send every row of one file; True when the file is finished (results
        written, input deleted), False when the engine could not be reached."""
        data = path.read_bytes()
        lines: list[list[str]] = []
        for row in parse(data):
            if isinstance(row, BadRow):
                lines.append(result_line(row, None, "bad_row", row.message))
                log.warning("%s line %d (%s %s): %s", path.name, row.line, row.action, row.ref, row.message)
                continue
            try:
                got = call(row.op, row.body, row.req_id)
            except RequestError as e:
                if e.code in TRANSIENT:
                    log.warning("%s line %d: %s (%s); the file is tried again later", path.name, row.line,
                                e.code, e.message)
                    return False
                lines.append(result_line(row, None, e.code, e.message))
                log.warning("%s line %d (%s %s) refused: %s %s", path.name, row.line, row.action, row.ref,
                            e.code, e.message)
                continue
            lines.append(result_line(row, got))
        self._finish(path, lines)
        refused = sum(1 for ln in lines if ln[3] != "ok")
        log.info("%s: %d rows, %d refused", path.name, len(lines), refused)
        return True

    def _finish(self, path: Path, lines: list[list[str]]) -> None:
        self.done.mkdir(exist_ok=True)
        out = self.done / f"{path.name}.result.csv"
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(render_results(lines))
        os.replace(tmp, out)  # the result is whole before the input goes
        path.unlink()  # it held the applicants' names and numbers


class CaseAdapter:
    """``start()``/``stop()`` for hall.runner.serve; constructor does no I/O."""

    def __init__(self, hall_id: str, system_id: str, inbox: str | Path | Source, bus_settings: BusSettings,
                 interval: float = 5.0, client_id: str | None = None):
        self.system_id = system_id
        # where the events come from: a drop folder (a path), or any Source (caseadapter/httpfeed.py)
        self.inbox: Source = Inbox(inbox) if isinstance(inbox, (str, Path)) else inbox
        self.interval = interval
        self.bus = Bus(hall_id, client_id or system_id, bus_settings,
                       availability=(REGISTRY["device.availability"], system_id))
        self.requester = Requester(self.bus, "device", system_id)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0  # finished passes over the inbox (tests wait on it)

    def start(self, timeout: float = 10.0) -> None:
        self.requester.subscribe_all()
        self.bus.start(timeout)
        self._thread = threading.Thread(target=self._run, name="case-adapter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        sdnotify.unwatch("case-adapter")
        self.bus.stop()

    def poke(self) -> None:
        """Look at the inbox now rather than at the next interval."""
        self._wake.set()

    def _call(self, op: str, body: dict[str, Any], req_id: str) -> Any:
        return self.requester.call(op, body, req_id=req_id, timeout=5.0)

    def _run(self) -> None:
        sdnotify.watch("case-adapter")
        while not self._stop.is_set():
            sdnotify.beat("case-adapter")
            try:
                self.inbox.run_pass(self._call, self._stop.is_set)
            except OSError as e:  # the share (or the outside system) went away: try again on the next pass
                log.warning("%s: %s", self.inbox.where(), e)
            self.passes += 1
            self._wake.wait(self.interval)
            self._wake.clear()
