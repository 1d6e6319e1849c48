"""The topic registry: the only place that builds or parses topic strings.

Grammar: ``onewindow/<hall_id>/<kind>/<id>/<attr…>``.

* ``kind`` is one of :class:`Kind`; a device id can never clash with a
  bridge-level topic because every id lives one level below its kind
  (zigbee2mqtt's "device named bridge" regret).
* ids match :data:`ID_RE`, so they never contain ``+ # /``.
* Requests go to ``<kind>/<id>/request/<op>`` and replies come back on
  ``<kind>/<id>/response/<op>``: a client's requests and replies live under its
  own id, which lets the generated mosquitto ACL confine it (see
  ``hall/acl.py``).

Every subscriber and every publisher goes through :data:`REGISTRY`; the
engine subscribes to exactly the patterns of the specs it handles, so a
handled topic cannot be forgotten in the subscription list (Frigate's regret).
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from enum import StrEnum

ROOT = "onewindow"
PARSED_CACHE = 10_000  # topics kept parsed (Registry.parse); past it the cache starts again
ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class Kind(StrEnum):
    KIOSK = "kiosk"
    WINDOW = "window"
    DISPLAY = "display"
    DEVICE = "device"
    ZONE = "zone"
    STATS = "stats"
    ALERT = "alert"
    CONFIG = "config"
    ENGINE = "engine"


class TopicError(ValueError):
    """A topic string or id that the grammar does not allow."""


_GOOD_IDS: set[str] = set()  # ids already checked: every publish checks two


def check_id(value: str, what: str = "id") -> str:
    if value in _GOOD_IDS:
        return value
    if not isinstance(value, str) or not ID_RE.match(value):
        raise TopicError(f"{what} {value!r} must match {ID_RE.pattern} (no + # / or spaces)")
    if len(_GOOD_IDS) < 100_000:  # bounded: ids come from outside too
        _GOOD_IDS.add(value)
    return value


@dataclass(frozen=True)
class TopicSpec:
    """One entry of the registry.

    ``attr`` is the part after ``<kind>/<id>/``; for requests and responses it
    is ``request/<op>`` / ``response/<op>``.  ``payload`` names the message
    type in :mod:`hall.messages` (a string, so this module imports nothing).
    """

    name: str
    kind: Kind
    attr: str
    payload: str
    retained: bool
    publisher: str
    doc: str
    qos: int = 1

    # worked out once per entry, not on every message (the engine reads both per request)
    @functools.cached_property
    def is_request(self) -> bool:
        return self.attr.startswith("request/")

    @functools.cached_property
    def op(self) -> str | None:
        if self.attr.startswith(("request/", "response/")):
            return self.attr.split("/", 1)[1]
        return None

    def topic(self, hall_id: str, ident: str) -> str:
        """The concrete topic for one hall and one id (for publishing)."""
        if hall_id not in _GOOD_IDS:
            check_id(hall_id, "hall id")
        if ident not in _GOOD_IDS:
            check_id(ident, f"{self.kind} id")
        return f"{ROOT}/{hall_id}/{self.kind}/{ident}/{self.attr}"

    def pattern(self, hall_id: str = "+", ident: str = "+") -> str:
        """A subscription pattern; ``+`` stands for any hall or any id."""
        if hall_id != "+":
            check_id(hall_id, "hall id")
        if ident != "+":
            check_id(ident, f"{self.kind} id")
        return f"{ROOT}/{hall_id}/{self.kind}/{ident}/{self.attr}"


@dataclass(frozen=True, slots=True)  # slots: the parse cache holds one per topic seen
class Parsed:
    spec: TopicSpec
    hall_id: str
    ident: str


def _req(kind: Kind, op: str, doc: str, publisher: str) -> tuple[TopicSpec, TopicSpec]:
    req = TopicSpec(
        name=f"{kind}.request.{op}", kind=kind, attr=f"request/{op}",
        payload=f"{kind}.{op}", retained=False, publisher=publisher, doc=doc,
    )
    resp = TopicSpec(
        name=f"{kind}.response.{op}", kind=kind, attr=f"response/{op}",
        payload="Response", retained=False, publisher="engine",
        doc=f"Reply to {kind}/<id>/request/{op}; echoes the request id.",
        # QoS 0: clients use clean sessions, so QoS 1 would not survive a
        # reconnect either; a lost reply is recovered by retrying the same
        # request id (answered from the idempotency record). Saves a PUBACK
        # per request: ~90 µs of the engine's CPU (docs/design.md).
        qos=0,
    )
    return req, resp


# The registry by subject.  `_requests` adds a request topic and its reply topic per op.


def _requests(kind: Kind, publisher: str, ops: dict[str, str]) -> list[TopicSpec]:
    return [spec for op, doc in ops.items() for spec in _req(kind, op, doc, publisher)]


KIOSK_OPS = {
    "issue": "Take a number for a matter or a bundle.",
    "checkin": "Check in an appointment by its code; issues a ticket.",
    "ticket": "Look up a ticket's state, position and estimate.",
    "requeue": "Re-queue a no-show ticket within the allowed minutes.",
    "cancel": "Cancel a waiting ticket.",
    "printed": "Tell the engine whether the ticket was printed.",
    "rate": "Rate a finished visit later at a kiosk (ticket QR).",
    "progress": "Look up a case's progress by its case number.",
    "staff": "呼叫工作人员: call floor staff to this kiosk (raises `alert/<kiosk>/staff`).",
}
WINDOW_OPS = {
    "login": "Staff logs in at the window.",
    "logout": "Staff logs out; the window closes.",
    "next": "Finish the current ticket (if any) and call the next one.",
    "recall": "Call the current ticket again (at most recall_limit times).",
    "noshow": "Mark the current ticket as not present.",
    "start": "The citizen has arrived: the current ticket is being served.",
    "transfer": "Send the current ticket to another matter or window, keeping its place.",
    "pause": "Pause the window (no calls), with an optional reason.",
    "resume": "Resume a paused window.",
    "finish": "Finish the current ticket; prompts the evaluator. With an `outcome` (办结/受理/补正/不予受理) "
              "it settles the visit (or the one just finished, if it has no outcome yet).",
    "rate": "The citizen's rating from the window's evaluator.",
    "queue": "The lines this window may serve: waiting count and oldest place per matter.",
    "visit": "The current ticket's visit with its filled form, for the window's own users only.",
}

_SPECS: list[TopicSpec] = []

# --- the engine ---
_SPECS += [
    TopicSpec("engine.availability", Kind.ENGINE, "availability", "Availability", True, "engine",
              "Engine availability; Last-Will sets it to offline."),
    TopicSpec("stats.engine", Kind.STATS, "engine", "EngineStats", True, "engine",
              "The engine's own health every few seconds: requests, batches, commit latency, inbound queue "
              "(id is always `hall`); read by `onewindow metrics`."),
]

# --- kiosks ---
_SPECS.append(TopicSpec("kiosk.availability", Kind.KIOSK, "availability", "Availability", True, "kiosk",
                        "Kiosk availability; Last-Will offline."))
_SPECS += _requests(Kind.KIOSK, "kiosk", KIOSK_OPS)
_SPECS.append(TopicSpec("alert.staff", Kind.ALERT, "staff", "StaffCall", True, "engine",
                        "A kiosk calls floor staff (id = kiosk id); retained until the admin console clears "
                        "it with an empty retained message. No personal data."))
# forms filled once: the citizen's profile.  Replies carry personal data: they go
# only to the asking kiosk (the ACL's `%u` patterns), never retained.
_SPECS += _requests(Kind.KIOSK, "kiosk", {
    "profile_get": "Read the citizen's kept basic data by ID number (after consent).",
    "profile_put": "Keep (or update) the citizen's basic data, with their consent.",
    "profile_erase": "Erase the citizen's kept basic data (their choice at the kiosk).",
})

# --- windows ---
_SPECS += [
    TopicSpec("window.state", Kind.WINDOW, "state", "WindowState", True, "engine",
              "A window's presence, staff and current ticket."),
    TopicSpec("window.evaluate", Kind.WINDOW, "evaluate", "EvaluatePrompt", False, "engine",
              "Ask the window's evaluator for a rating of the visit just finished."),
    TopicSpec("window.settled", Kind.WINDOW, "settled", "SettledEvent", False, "engine",
              "A visit settled with an outcome (办结/受理/补正/不予受理); no personal data."),
]
_SPECS += _requests(Kind.WINDOW, "window caller (bridge or soft caller)", WINDOW_OPS)
# the filled form: personal data, to the serving window's clerk only
_SPECS += _requests(Kind.WINDOW, "window terminal", {
    "form": "The filled form of the ticket this window is serving (clerk only)."})

# --- boards and wall displays ---
_SPECS += [
    TopicSpec("zone.board", Kind.ZONE, "board", "ZoneBoard", True, "engine",
              "A zone's current calls and recent calls."),
    TopicSpec("zone.waiting", Kind.ZONE, "waiting", "ZoneWaiting", True, "engine",
              "A zone's waiting counts: per matter group, and per window of the zone; published when one "
              "of them changes (at most every half second), never by re-sending window states."),
    TopicSpec("zone.called", Kind.ZONE, "called", "CalledEvent", False, "engine",
              "A ticket called (or recalled) to a window of this zone."),
    TopicSpec("stats.progress", Kind.STATS, "progress", "ProgressBoard", True, "engine",
              "办事进度公示: the latest updated cases with masked names, stage, deadline (id is always "
              "`hall`); pushed when a case moves."),
    TopicSpec("display.availability", Kind.DISPLAY, "availability", "Availability", True, "display",
              "Wall display / announcer availability; Last-Will offline."),
]

# --- ratings: satisfaction and bad-review follow-ups ---
_SPECS += [
    TopicSpec("alert.followup", Kind.ALERT, "followup", "FollowUp", True, "engine",
              "整改/回访: a bad review's follow-up (id = follow-up id); cleared a while after closing."),
    TopicSpec("stats.satisfaction.window", Kind.STATS, "satisfaction/window", "Satisfaction", True, "engine",
              "Today's ratings of one window (id = window id)."),
    TopicSpec("stats.satisfaction.staff", Kind.STATS, "satisfaction/staff", "Satisfaction", True, "engine",
              "Today's ratings of one staff member (id = staff id)."),
    TopicSpec("stats.satisfaction.matter", Kind.STATS, "satisfaction/matter", "Satisfaction", True, "engine",
              "Today's ratings of one matter or bundle (id = matter id)."),
    TopicSpec("stats.satisfaction.day", Kind.STATS, "satisfaction/day", "Satisfaction", True, "engine",
              "Today's ratings of the whole hall (id is always `hall`)."),
]
_SPECS += _requests(Kind.ALERT, "admin (onewindow followup)", {
    "followups": "List bad-review follow-ups (id = the client's own id).",
    "followup_close": "Close a follow-up with a note (id = the client's own id).",
})

# --- cases (办件) and their supervision (电子监察) ---
_SPECS += [
    TopicSpec("alert.case", Kind.ALERT, "case", "CaseAlert", True, "engine",
              "A case near (yellow) or past (red) its deadline (id = case number); cleared when it ends."),
    TopicSpec("stats.case_depts", Kind.STATS, "case_depts", "CaseDeptStats", True, "engine",
              "Per department: open cases, and decided ones early / on time / overdue (id is always `hall`)."),
]
_SPECS += _requests(Kind.KIOSK, "kiosk", {
    "case": "A case's whole timeline by its number and the last four of the applicant's ID or phone."})
_SPECS += _requests(Kind.WINDOW, "window terminal", {
    "case_step": "Move a case along its timeline (受理→审查→决定→制证→待领取→已领取, 补正中, 不予许可, 撤回).",
    "case_extend": "Extend a case's deadline by working days, with the reason.",
    "cases": "The clerk's case list: this window's open cases, or its departments' (nearest deadline first)."})
# an outside case system (审批系统) under its own id (`cases.systems`); `ref` is its own case number
_SPECS += _requests(Kind.DEVICE, "outside case system (onewindow case-adapter)", {
    "case_open": "Open a case accepted in the outside case system (idempotent by its `ref`).",
    "case_step": "Report a step of a case the outside system opened (by its `ref`).",
    "case_extend": "Report an extension of such a case's deadline (by its `ref`)."})
_SPECS += _requests(Kind.ALERT, "supervisor (admin console)", {
    "case_ack": "Acknowledge a case's supervision warning (id = the client's own id)."})

# --- SMS ---
_SPECS.append(TopicSpec("device.sms", Kind.DEVICE, "sms", "SmsRequest", False, "engine",
                        "An SMS for the sender (id = sender id); the only topic with a full phone number. "
                        "Resent until the sender reports its state."))
_SPECS += _requests(Kind.DEVICE, "SMS sender", {
    "sms_status": "An SMS sender reports a message's state (id = sender id).",
    "sms_sync": "An SMS sender (re)started: the engine resends what is pending.",
})

# --- devices (serial, evdev, printers, modems) ---
_SPECS += [
    TopicSpec("device.availability", Kind.DEVICE, "availability", "Availability", True, "bridge",
              "A serial or input device's availability, kept by the bridge or kiosk."),
    TopicSpec("device.status", Kind.DEVICE, "status", "DeviceStatus", True, "bridge",
              "A device's detailed status (printer paper, modem signal…)."),
    TopicSpec("device.scan", Kind.DEVICE, "scan", "ScanEvent", False, "bridge",
              "A line read by a keyboard-mode QR/barcode scanner or ID-card reader at a window (id = device "
              "id). May carry an ID-card number: restrict `device/+/scan` by ACL to the window's own clients."),
]

# --- the hall config ---
_SPECS.append(TopicSpec("config.current", Kind.CONFIG, "current", "ConfigCurrent", True, "engine",
                        "The hall config in force (id is always `hall`)."))
_SPECS += _requests(Kind.CONFIG, "admin", {
    "set": "Replace the hall config at runtime (admin).",
    "appointments": "Load today's bookings (admin / booking system).",
})

# --- running the hall: KPIs, alerts, who is online ---
_SPECS += [
    TopicSpec("stats.summary", Kind.STATS, "summary", "HallSummary", True, "engine",
              "Hall-wide KPIs for today, with how far estimates were from waits (id is always `hall`)."),
    TopicSpec("stats.windows", Kind.STATS, "windows", "WindowsToday", True, "engine",
              "Today per window: served, average handling, open, paused and idle minutes, utilisation "
              "(id is always `hall`); refreshed when a visit ends or a window changes, and every 30 s."),
    TopicSpec("stats.balance", Kind.STATS, "balance", "BalanceView", True, "engine",
              "忙闲不均: windows lent to long queues, or the balancer's suggestions (id is always `hall`)."),
    TopicSpec("alert.unattended", Kind.ALERT, "unattended", "UnattendedAlert", True, "engine",
              "空岗: a window in service hours with nobody logged in (id = window id)."),
    TopicSpec("alert.supervision", Kind.ALERT, "supervision", "SupervisionAlert", True, "engine",
              "电子监察: a long wait or queue, a window paused or idle too long, 忙闲不均 (id = "
              "`<kind>.<subject>`); cleared with an empty retained message. No personal data."),
    TopicSpec("stats.availability", Kind.STATS, "availability", "AvailabilityDigest", True, "metrics",
              "Every client's availability with the time it changed, as `onewindow metrics` saw it (id is "
              "always `hall`); read by `onewindow status`."),
]

# --- config governance: every change has a revision and an audit record ---
_SPECS.extend(_req(Kind.CONFIG, "get", "The config in force, whole, with its revision (admin).", "admin"))
_SPECS.extend(_req(Kind.CONFIG, "history", "Audit records of config changes, newest first (admin).", "admin"))
_SPECS.extend(_req(Kind.CONFIG, "rollback", "Put an earlier revision back in force, as a new revision (admin).",
                   "admin"))
_SPECS.append(TopicSpec("config.audit", Kind.CONFIG, "audit", "ConfigAudit", True, "engine",
                        "The latest config change: who, when, the diff (id is always `hall`; ACL: admins only)."))


class Registry:
    """Lookup of topic specs by name and by concrete topic string."""

    def __init__(self, specs: list[TopicSpec]):
        self._by_name: dict[str, TopicSpec] = {}
        self._by_shape: dict[tuple[str, str], TopicSpec] = {}
        for spec in specs:
            if spec.name in self._by_name:
                raise ValueError(f"duplicate topic spec {spec.name}")
            self._by_name[spec.name] = spec
            self._by_shape[(spec.kind.value, spec.attr)] = spec
        self._responses = {s.name: self._by_name[f"{s.kind}.response.{s.op}"] for s in specs
                           if s.is_request and f"{s.kind}.response.{s.op}" in self._by_name}
        # topics already parsed: a hall's requests come on a few hundred topics, over and over
        self._parsed: dict[str, Parsed] = {}

    def __getitem__(self, name: str) -> TopicSpec:
        return self._by_name[name]

    def __iter__(self):
        return iter(self._by_name.values())

    def parse(self, topic: str) -> Parsed:
        """Split a concrete topic into its spec, hall id and id.

        Raises :class:`TopicError` for anything outside the registry.
        """
        parsed = self._parsed.get(topic)
        if parsed is not None:
            return parsed
        parsed = self._parse(topic)
        if len(self._parsed) >= PARSED_CACHE:  # bounded: topics come from outside
            self._parsed.clear()
        self._parsed[topic] = parsed
        return parsed

    def _parse(self, topic: str) -> Parsed:
        parts = topic.split("/")
        if len(parts) < 5 or parts[0] != ROOT:
            raise TopicError(f"not an onewindow topic: {topic!r}")
        _, hall_id, kind, ident, *rest = parts
        attr = "/".join(rest)
        spec = self._by_shape.get((kind, attr))
        if spec is None:
            raise TopicError(f"unknown topic shape {kind}/<id>/{attr}")
        check_id(hall_id, "hall id")
        check_id(ident, f"{kind} id")
        # interned: the engine keeps the requester's id in every ticket it issues
        # (``kiosk``); one shared string per kiosk instead of one per ticket
        # (1 MB of a 20,000-ticket day)
        return Parsed(spec, hall_id, sys.intern(ident))

    def response_for(self, request: TopicSpec) -> TopicSpec:
        spec = self._responses.get(request.name)
        return spec if spec is not None else self._by_name[f"{request.kind}.response.{request.op}"]

    def requests(self, kind: Kind | None = None) -> list[TopicSpec]:
        return [s for s in self if s.is_request and (kind is None or s.kind == kind)]


REGISTRY = Registry(_SPECS)
