"""An outside case system (审批系统) polled over HTTPS for its new events.

The other way a hall connects its approval system, next to the CSV drop
folder (caseadapter/service.py ``Inbox``): every ``interval`` the adapter asks
``GET <url>?since=<cursor>`` and the system answers::

    {"events": [{"id": "E-1001", "action": "open", "ref": "SP-0001", "matter": "M1",
                 "handler": "李科员", "accepted_on": "2026-09-30", "name": "张三丰",
                 "id_number": "…", "phone": "…"},
                {"id": "E-1002", "action": "step", "ref": "SP-0001", "stage": "审查",
                 "handler": "王审查"}],
     "cursor": "1002"}

Each event has the drop file's columns (caseadapter/csvdrop.py ``COLUMNS``) as
keys and the same meaning; ``id`` is the system's own event id. The events
become the same three requests (``case_open``, ``case_step``, ``case_extend``)
with request ids made from that id (or, without one, from the cursor asked
with, the place in the answer and the event), so events served again — the
adapter or the engine restarted before the cursor was kept — get the engine's
first answers from its idempotency records, never a second step.

The cursor the answer gives is kept (a file, replaced whole) only after every
event of the answer was answered by the engine, refused ones included (a
refusal is the engine's last word on that event: logged, not retried). When the
engine cannot be reached the cursor stays and the same events are asked for
on the next pass.

HTTPS only: the events carry applicants' names and ID numbers. A URL of
another scheme is refused when the adapter starts. The system's certificate is
checked against the system's trust store, or ``cafile`` (a hall CA); the
system may ask for a bearer token, read from a file (a systemd credential).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

from hall.bus import RequestError

from .csvdrop import BadRow, record, result_line
from .service import TRANSIENT, Call

log = logging.getLogger("caseadapter.http")

MAX_ANSWER = 8 * 1024 * 1024  # bytes of one answer: a system that sends more is cut off, not trusted


class FeedError(ValueError):
    """The system's answer is not the feed's format (said in one line, the pass ends)."""


def https_only(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{url!r}: the case system's feed must be an https:// URL (its events carry "
                         "applicants' names and ID numbers)")
    return url


class HttpFeed:
    """A :class:`~caseadapter.service.Source` polling ``url``; the constructor does no I/O."""

    def __init__(self, url: str, state: str | Path, *, cafile: str | None = None, token: str | None = None,
                 timeout: float = 10.0):
        self.url = https_only(url)
        self.state = Path(state)
        self.cafile = cafile
        self.token = token
        self.timeout = timeout
        self.results: list[list[str]] = []  # each event of the last answer that had any (no personal data)
        self._ctx: ssl.SSLContext | None = None

    def where(self) -> str:
        return f"feed {urllib.parse.urlsplit(self.url).netloc}"

    # ------------------------------------------------------------- cursor --
    def cursor(self) -> str:
        try:
            return str(json.loads(self.state.read_text(encoding="utf-8")).get("cursor", ""))
        except FileNotFoundError:
            return ""

    def _keep(self, cursor: str) -> None:
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cursor": cursor}), encoding="utf-8")
        os.replace(tmp, self.state)

    # -------------------------------------------------------------- fetch --
    def fetch(self, since: str) -> tuple[list[Any], str]:
        """One answer: the events since ``since`` and the cursor after them."""
        if self._ctx is None:
            self._ctx = ssl.create_default_context(cafile=self.cafile)
        sep = "&" if urllib.parse.urlsplit(self.url).query else "?"
        req = urllib.request.Request(f"{self.url}{sep}since={urllib.parse.quote(since)}",
                                     headers={"Accept": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=self.timeout, context=self._ctx) as r:
            raw = r.read(MAX_ANSWER + 1)
        if len(raw) > MAX_ANSWER:
            raise FeedError(f"an answer over {MAX_ANSWER} bytes")
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise FeedError(f"not JSON ({e})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("events"), list) \
                or not isinstance(doc.get("cursor", since), (str, int)):
            raise FeedError("expected {\"events\": [...], \"cursor\": \"…\"}")
        return doc["events"], str(doc.get("cursor", since))

    # --------------------------------------------------------------- pass --
    def run_pass(self, call: Call, stopped: Callable[[], bool]) -> None:
        since = self.cursor()
        try:
            events, after = self.fetch(since)
        except FeedError as e:
            log.warning("%s: %s; asked again on the next pass", self.where(), e)
            return
        lines: list[list[str]] = []
        for n, ev in enumerate(events, start=1):
            if stopped():
                return
            if not isinstance(ev, dict):
                lines.append(result_line(BadRow(n, "", "", ""), None, "bad_row", "not an object"))
                continue
            eid = str(ev.get("id") or "")
            key = eid or f"{since}|{n}|{json.dumps(ev, sort_keys=True, ensure_ascii=False)}"
            row = record(n, {k: v for k, v in ev.items() if k != "id"},
                         "http-" + hashlib.sha256(key.encode()).hexdigest()[:24])
            if isinstance(row, BadRow):
                lines.append(result_line(row, None, "bad_row", row.message))
                log.warning("%s event %s (%s %s): %s", self.where(), eid or n, row.action, row.ref, row.message)
                continue
            try:
                got = call(row.op, row.body, row.req_id)
            except RequestError as e:
                if e.code in TRANSIENT:
                    log.warning("%s event %s: %s (%s); asked again on the next pass", self.where(), eid or n,
                                e.code, e.message)
                    return
                lines.append(result_line(row, None, e.code, e.message))
                log.warning("%s event %s (%s %s) refused: %s %s", self.where(), eid or n, row.action, row.ref,
                            e.code, e.message)
                continue
            lines.append(result_line(row, got))
        if events:
            self.results = lines
        if after != since:
            self._keep(after)
        if events:
            log.info("%s: %d events, %d refused; cursor %s", self.where(), len(events),
                     sum(1 for ln in lines if ln[3] != "ok"), after)
