"""Typed payloads of every topic in :mod:`hall.topics`.

Inbound messages (requests) forbid unknown fields: they come from outside the
engine, and a misspelt field must be an error, not silently ignored.  Times are
UNIX epoch seconds (float, UTC); days are the hall's local ISO date.

msgspec is used instead of pydantic here because every request crosses this
code on the engine's hot path; pydantic stays for the config, where rich
error paths matter more than speed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from .errors import ErrorCode as E

MAX_PAYLOAD = 16 * 1024  # bytes; larger requests are refused unread
# Arrays and objects nested deeper than this are refused before any decode:
# a decoder recurses once per level, and 2 KB of "[[[[…" would otherwise reach
# Python's recursion limit (RecursionError) inside it. No payload of the
# protocol nests deeper than 5 (a config push: config → windows → [i] → serves).
MAX_DEPTH = 32

ReqId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Ident = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{5,15}$")]
Level = Annotated[int, msgspec.Meta(ge=1, le=5)]
ShortText = Annotated[str, msgspec.Meta(max_length=500)]


class Inbound(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request: ``id`` makes it idempotent."""

    id: ReqId


class Outbound(msgspec.Struct, kw_only=True, omit_defaults=False):
    pass


# ------------------------------------------------------ replies and presence ---

class ErrorBody(Outbound):
    code: str
    message: str

class Response(Outbound):
    id: str
    status: Literal["ok", "error"]
    data: Any = None
    error: ErrorBody | None = None

class Availability(Outbound):
    state: Literal["online", "offline", "stopped"]


# ------------------------------------------------------------------- kiosks ---

class IssueRequest(Inbound):
    matter: Ident | None = None
    bundle: Ident | None = None
    phone: Phone | None = None
    priority: Ident = "normal"
    priority_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    lang: Literal["zh-CN", "zh-TW", "en"] = "zh-CN"
    form: dict[Annotated[str, msgspec.Meta(max_length=64)], ShortText] | None = None
    # situation answers (question id → option id): the window sees what was asked
    answers: dict[Ident, Ident] | None = None

class CheckinRequest(Inbound):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    phone: Phone | None = None
    lang: Literal["zh-CN", "zh-TW", "en"] = "zh-CN"

class TicketRef(Inbound):
    """Requests naming one ticket by its id (``20261121-A023``)."""

    ticket: Ident

Secret = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8,64}$")]

class TicketAction(Inbound):
    """A citizen acting on their own ticket (cancel, re-queue): ``secret`` is the
    ticket's own, printed in its QR (``<ticket>.<secret>``); the id alone is
    predictable and proves nothing."""

    ticket: Ident
    secret: Secret

class StaffCallRequest(Inbound):
    """呼叫工作人员: a citizen at a kiosk asks for floor staff."""

    reason: Literal["help", "elderly", "disability", "language"] = "help"
    lang: Literal["zh-CN", "zh-TW", "en"] = "zh-CN"

class PrintedRequest(Inbound):
    ticket: Ident
    ok: bool
    error: ShortText | None = None

class KioskRateRequest(Inbound):
    ticket: Ident
    secret: Secret  # the ticket's, from its QR (see TicketAction)
    level: Level
    reasons: list[Literal["attitude", "efficiency", "explanation", "other"]] = []
    comment: ShortText | None = None

class PrintedAck(Outbound):
    """The engine noted whether the kiosk printed the ticket."""

    ticket: str
    printed: bool

class RatingAck(Outbound):
    """A rating recorded (from a kiosk or a window's evaluator); ``level`` null:
    recorded as *not rated* (the evaluator timed out)."""

    ticket: str
    level: int | None

class StaffCall(Outbound):
    """A kiosk's call for floor staff, retained on ``alert/<kiosk>/staff`` until cleared."""

    kiosk: str
    reason: str
    lang: str
    at: float

class TicketInfo(Outbound):
    """What a kiosk shows and prints about a ticket."""

    ticket: str
    number: str
    day: str
    state: str
    matter: str | None
    bundle: str | None
    zone: str
    windows: list[str]
    ahead: int  # tickets the policy calls before this one now (caller/forecast.py)
    estimate_min: int  # minutes until the call, and the 80 % range printed as 约 lo–hi 分钟
    priority: str
    issued_at: float
    window: str | None = None
    window_number: str | None = None
    requeue_until: float | None = None
    estimate_lo_min: int = 0
    estimate_hi_min: int = 0
    secret: str | None = None  # only in the issue / check-in / re-queue reply, to the kiosk that prints it


# forms filled once: the citizen's profile, found by the ID number on the card
IdNumber = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{17}[0-9Xx]$")]


class ProfileRef(Inbound):
    """A profile is found by the ID number read from the citizen's card."""

    id_number: IdNumber

class ProfilePutRequest(Inbound):
    """``values`` by profile key (``name``, ``phone``, ``address``…); the citizen consented."""

    id_number: IdNumber
    values: dict[Annotated[str, msgspec.Meta(max_length=32)], ShortText]

class ProfileData(Outbound):
    found: bool
    values: dict[str, str]
    expires_at: float | None = None

class ProfileErased(Outbound):
    erased: bool


# ------------------------------------------------------------------ windows ---

class Plain(Inbound):
    """Window requests that carry nothing but their id."""

class LoginRequest(Inbound):
    staff: Ident

class PauseRequest(Inbound):
    """``reason``: why the window pauses (午休, 会议…), shown on the clerk's page."""

    reason: Annotated[str, msgspec.Meta(max_length=100)] | None = None

class VisitOutcome(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How a visit was settled at the window (办结 / 受理 / 补正 / 不予受理).

    ``correction`` (补正) names the material ids still missing; the citizen
    gets a one-time notice (一次性告知) of exactly those, printed at the window
    (``print``) or by SMS (``sms``). ``rejected`` (不予受理) needs a reason."""

    kind: Literal["done", "accepted", "correction", "rejected"]
    missing: list[Ident] = []
    note: ShortText | None = None
    reason: ShortText | None = None
    notify: Literal["print", "sms", "none"] = "print"

class FinishRequest(Inbound):
    """``outcome`` is optional: a keypad's finish carries none."""

    outcome: VisitOutcome | None = None

class TransferRequest(Inbound):
    matter: Ident | None = None
    window: Ident | None = None

class WindowRateRequest(Inbound):
    """From an evaluator: ``level`` None with ``timeout`` true means 'not rated'."""

    ticket: Ident | None = None
    level: Level | None = None
    timeout: bool = False

class TicketBrief(Outbound):
    ticket: str
    number: str
    matter: str | None
    bundle: str | None
    state: str
    called_at: float | None
    recalls: int
    priority: str
    # no form here: it is personal data, and this state is retained; the
    # window's own terminal fetches it with window/<id>/request/visit

class WindowState(Outbound):
    window: str
    number: str
    zone: str
    status: Literal["open", "paused", "closed"]
    staff: str | None
    ticket: TicketBrief | None
    at: float
    pause_reason: str | None = None

class EvaluatePrompt(Outbound):
    ticket: str
    number: str
    window: str
    staff: str | None
    matter: str | None
    timeout_s: int
    at: float

class QueueLine(Outbound):
    """One line a window may serve: ``line`` is a matter or bundle id, or
    ``@<window>`` for tickets transferred to the window itself."""

    line: str
    waiting: int
    oldest_since: float | None  # place in line of the oldest waiting ticket

class QueueView(Outbound):
    window: str
    lines: list[QueueLine]
    at: float

class VisitView(Outbound):
    """The called citizen's visit, for the clerk serving it only (never retained).

    ``form`` is the filled form in full; ``phone`` is masked (the SMS sender
    alone has the full number); ``answers`` are the situation answers."""

    ticket: str
    number: str
    matter: str | None
    bundle: str | None
    state: str
    priority: str
    issued_at: float
    called_at: float | None
    form: dict[str, str] | None
    answers: dict[str, str] | None
    phone: str | None
    outcome: VisitOutcome | None = None

class SettledEvent(Outbound):
    """A visit settled with an outcome (the case system builds on ``accepted``)."""

    ticket: str
    number: str
    window: str
    staff: str | None
    matter: str | None
    bundle: str | None
    outcome: VisitOutcome
    at: float

class FilledForm(Outbound):
    """The current ticket's form for the clerk: render it with ``hall.forms.render_filled``."""

    ticket: str
    number: str
    target: str
    values: dict[str, str]
    filled: int
    total: int


# --------------------------------------------------- boards and wall displays ---

class CallEntry(Outbound):
    ticket: str
    number: str
    window: str
    window_number: str
    matter: str | None
    at: float
    recall: int = 0

class ZoneBoard(Outbound):
    zone: str
    current: list[CallEntry]
    recent: list[CallEntry]
    at: float

class ZoneWaiting(Outbound):
    """A zone's waiting counts, by matter group and by window of the zone.

    Apart from the board and the window states, so that a new ticket costs one
    small message per zone it touches, however many windows the hall has."""
    zone: str
    groups: dict[str, int]  # tickets of this zone's matters waiting, by group prefix (none: absent)
    total: int  # the sum of ``groups``
    windows: dict[str, int]  # every window of the zone: the tickets it may call now (lent lines too)
    at: float

class CalledEvent(Outbound):
    event: str
    ticket: str
    number: str
    window: str
    window_number: str
    zone: str
    matter: str | None
    recall: int
    lang: str
    at: float

class ProgressRequest(Inbound):
    case: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

class CaseProgress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    case: str
    name: str  # already masked by the publisher, e.g. 张*明
    matter: str | None = None  # the matter's id (screens name it in their languages)
    status: Literal["received", "processing", "done", "ready"]
    updated_at: float
    department: str | None = None
    stage: str | None = None  # accepted, review, decided, issuing, ready, collected, correction, denied, withdrawn
    deadline: str | None = None  # ISO date
    days_left: int | None = None  # working days; negative once overdue
    overdue: bool = False


class CaseStepView(Outbound):
    stage: str
    at: float
    handler: str
    opinion: str


class CaseView(Outbound):
    """A case's whole timeline, for the citizen who proved it is theirs (name masked)."""

    case: str
    name: str
    matter: str
    department: str
    stage: str
    deadline: str
    days_left: int
    overdue: bool
    result: str | None
    steps: list[CaseStepView]
    # ``matter`` and ``department`` are the hall's Simplified names; a kiosk shows
    # the matter's (and its department's) names in its own language from this id
    matter_id: str = ""


class CaseQuery(Inbound):
    """Look a case up at a kiosk: its number and the last four characters of the
    applicant's ID number or phone (the second factor)."""

    case: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9Xx]{4}$")]


class CaseStepRequest(Inbound):
    """A move of a case's timeline (from a window terminal or the outside case system)."""

    case: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    stage: Literal["accepted", "review", "decided", "issuing", "ready", "collected",
                   "correction", "denied", "withdrawn"]
    opinion: ShortText = ""
    handler: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # default: the window's staff


class CaseExtendRequest(Inbound):
    case: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    days: Annotated[int, msgspec.Meta(ge=1, le=60)]
    reason: ShortText


CaseRef = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
Handler = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CaseOpenRequest(Inbound):
    """An outside case system (审批系统) opens a case it accepted: ``ref`` is its own
    number for it (a resent open answers with the case already opened). The
    applicant's data reach only the engine, which keeps them encrypted."""

    ref: CaseRef
    matter: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    handler: Handler
    accepted_on: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] | None = None  # default: today
    opinion: ShortText = ""
    name: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    lang: Literal["zh-CN", "zh-TW", "en"] = "zh-CN"  # of the citizen's SMS


class CaseRefStepRequest(Inbound):
    """A step of a case the outside system opened, by its ``ref``."""

    ref: CaseRef
    stage: Literal["accepted", "review", "decided", "issuing", "ready", "collected",
                   "correction", "denied", "withdrawn"]
    handler: Handler
    opinion: ShortText = ""


class CaseRefExtendRequest(Inbound):
    ref: CaseRef
    days: Annotated[int, msgspec.Meta(ge=1, le=60)]
    reason: ShortText
    handler: Handler


class CaseListRequest(Inbound):
    """The window terminal's case list: the cases this window opened, or the open
    cases of the departments of the matters it serves."""

    scope: Literal["window", "department"] = "window"


class CaseList(Outbound):
    cases: list[CaseProgress]  # open ones, nearest deadline first, at most ``limit``
    total: int  # how many matched
    limit: int
    # case → the stages it may move to now (caller/cases.py's ``allowed``): the terminal offers only these
    next: dict[str, list[str]] = {}


class CaseAckRequest(Inbound):
    case: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class CaseAlert(Outbound):
    """电子监察: a case near (yellow) or past (red) its deadline; retained while it lasts."""

    case: str
    level: Literal["yellow", "red"]
    matter: str
    department: str
    deadline: str
    days_left: int
    acked: bool
    at: float


class CaseDeptStats(Outbound):
    """Per department: open cases and how decided ones stood against their deadlines."""

    departments: dict[str, dict[str, int]]  # name → open, early, on_time, overdue, warned
    at: float

class WindowDay(Outbound):
    """One window's figures for today (the console's per-window columns)."""

    served: int  # visits finished
    avg_handle_s: float  # start (or call) to finish, averaged; 0 before the first
    open_min: float  # logged in and not paused
    paused_min: float
    idle_min: float  # open with no citizen at the window
    utilisation: float  # share of logged-in time (open + paused) with a citizen at the window


class WindowsToday(Outbound):
    """Today's per-window figures, all windows in one message (id is always `hall`)."""

    day: str
    windows: dict[str, WindowDay]
    at: float


class ProgressBoard(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cases: list[CaseProgress]
    at: float


# ------------------------------------------ ratings: satisfaction, follow-ups ---

class FollowupListRequest(Inbound):
    status: Literal["open", "closed", "all"] = "open"

class FollowupCloseRequest(Inbound):
    followup: Ident
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    by: Ident | None = None

class FollowUp(Outbound):
    """整改/回访 of a bad review; ``phone`` is masked (138****5678)."""

    followup: str
    ticket: str
    number: str
    day: str
    level: int
    reasons: list[str]
    comment: str | None
    window: str | None
    window_number: str | None
    staff: str | None
    matter: str | None
    phone: str | None
    opened_at: float
    callback_due: str
    due: str
    status: Literal["open", "closed"]
    overdue: bool = False
    closed_at: float | None = None
    closed_by: str | None = None
    note: str | None = None
    at: float = 0.0

class FollowupList(Outbound):
    followups: list[FollowUp]

class Satisfaction(Outbound):
    """Ratings of one window, staff member, matter or the hall, for one day.

    ``levels`` counts each level ("5" 非常满意 … "1" 非常不满意); ``good`` is
    levels 3–5, ``bad`` levels 1–2; ``rate`` = good / rated (0 when nobody
    rated); ``not_rated`` counts visits whose evaluator timed out and that were
    not rated later."""

    scope: Literal["window", "staff", "matter", "hall"]
    key: str
    day: str
    levels: dict[str, int]
    rated: int
    not_rated: int
    good: int
    bad: int
    rate: float
    avg: float
    at: float


# ---------------------------------------------------------------------- SMS ---

SmsState = Literal["queued", "sent", "failed", "expired", "unknown"]


class SmsStatusRequest(Inbound):
    """From an SMS sender: the state of one message it was given.

    ``queued``: accepted and journalled; ``sent``: the modem or gateway took it
    (``refs``: the modem's ``+CMGS`` references, one per part); ``failed``:
    refused for good (``error``); ``expired``: too late to be worth sending;
    ``unknown``: it may have gone out — the sender stopped while sending it, or the
    modem or gateway gave no answer after taking it whole (it is never sent again)."""

    sms: Ident
    state: SmsState
    parts: int = 0
    refs: list[Annotated[str, msgspec.Meta(max_length=64)]] = []
    error: ShortText | None = None
    at: float = 0.0

class SmsSyncRequest(Inbound):
    """From an SMS sender at start: resend me every message still pending."""

class SmsStatusAck(Outbound):
    """The state the engine now holds for the message (a re-report of a final one changes nothing)."""

    sms: str
    state: SmsState

class SmsPending(Outbound):
    """How many messages the engine resends to the sender that (re)started."""

    pending: int

class SmsRequest(Outbound):
    """An SMS to send.  ``phone`` is the full number: only the sender sees it."""

    sms: str
    ticket: str
    reason: Literal["issued", "near", "called", "requeue", "notice", "supervision",
                    "case_ready", "case_correction", "case_extended"]
    phone: str
    text: str
    lang: str
    at: float
    expires_at: float
    attempt: int


# ------------------------------------------------------------------ devices ---

class DeviceStatus(Outbound):
    device: str
    kind: str
    ok: bool
    detail: dict[str, Any] = {}
    at: float = 0.0

class ScanEvent(Outbound):
    """A scanner's line; ``kind`` is ``id_card`` for an 18-character 居民身份证 number."""

    device: str
    window: str | None
    kind: Literal["id_card", "text"]
    text: str
    at: float


# --------------------------------------------------------------- the config ---

MAX_CONFIG_PAYLOAD = 4 * 1024 * 1024  # a 900-matter hall is ~0.4 MB of JSON
PAYLOAD_LIMITS = {"config.set": MAX_CONFIG_PAYLOAD}  # per request op; the rest: MAX_PAYLOAD


class ConfigSetRequest(Inbound):
    """Replace the hall config.  ``base`` is the ``revision`` of
    ``config/hall/current`` the new config was made from: a push based on an
    older revision is refused (``stale_config``), never silently applied over
    someone else's change."""

    config: dict[str, Any]
    base: Annotated[int, msgspec.Meta(ge=0)]
    by: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # the person, for the audit record


class ConfigGetRequest(Inbound):
    """Ask for the config in force, whole (green-channel codes and local settings included)."""


class ConfigHistoryRequest(Inbound):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20


class ConfigRollbackRequest(Inbound):
    """Put the config of an earlier ``revision`` back in force (as a new revision);
    settings local to the hall server (the SMS gateway) stay as they are."""

    revision: Annotated[int, msgspec.Meta(ge=0)]
    base: Annotated[int, msgspec.Meta(ge=0)]
    by: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Appointment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    matter: Ident
    start: float
    end: float
    phone: Phone | None = None

class AppointmentsRequest(Inbound):
    appointments: list[Appointment]

class AppointmentsLoaded(Outbound):
    loaded: int  # bookings loaded (a code loaded again keeps the ticket it was used for)

class ConfigCurrent(Outbound):
    """The config in force: no staff roster, no green-channel codes (``codes: []``)."""

    version: int
    digest: str
    config: dict[str, Any]
    revision: int = 0  # the ``base`` of the next push


class ConfigAudit(Outbound):
    """One change of the hall config: who, when, and what changed (a unified diff
    of the published config, one key per line)."""

    revision: int
    at: float
    who: str  # the requester's bus id (its MQTT username once ACLs confine ids)
    by: str | None  # the person named in the request
    action: Literal["start", "push", "rollback"]  # start: the file changed on the server
    base: int | None
    digest: str
    diff: str
    rollback_of: int | None = None


class ConfigRevision(Outbound):
    revision: int
    digest: str
    config: dict[str, Any]
    yaml: str


class ConfigHistory(Outbound):
    revisions: list[ConfigAudit]


class ConfigApplied(Outbound):
    revision: int
    digest: str


# ------------------------------------------ running the hall: KPIs, health ---

class HallSummary(Outbound):
    day: str
    issued: int
    served: int
    waiting: int
    noshow: int
    avg_wait_s: float
    avg_handle_s: float
    open_windows: int
    at: float
    outcomes: dict[str, int] = {}  # settled visits by outcome kind today
    repeat_trips: int = 0  # 补正 visits: the citizen must come again
    # how far today's printed estimates were from the waits (minutes; bias > 0: waited longer)
    estimate_n: int = 0
    estimate_median_abs_err_min: float = 0.0
    estimate_p90_abs_err_min: float = 0.0
    estimate_bias_min: float = 0.0
    estimate_coverage: float = 0.0  # share of waits inside the printed range


class BalanceMove(Outbound):
    """A comprehensive window lent to another matter's queue."""

    window: str
    window_number: str
    line: str  # the matter or bundle it now also calls
    since: float
    clearing_min: float  # minutes the queue would have taken to clear when lent


class BalanceView(Outbound):
    """忙闲不均: the balancer's active loans (auto) or suggestions (suggest)."""

    mode: Literal["off", "suggest", "auto"]
    active: list[BalanceMove]
    suggested: list[BalanceMove]
    imbalance: float  # longest ÷ mean clearing time of the queues (1.0 = even)
    moves_today: int
    at: float

class UnattendedAlert(Outbound):
    window: str
    active: bool
    since: float | None
    at: float

class SupervisionAlert(Outbound):
    """电子监察 on the floor (id = ``<kind>.<subject>``), retained while it lasts and
    cleared with an empty retained message; nothing personal in it.

    ``long_wait``: ``subject`` a matter or bundle whose oldest ticket (``ticket``, its
    number) has waited ``value`` minutes; ``long_queue``: ``value`` tickets wait for
    it; ``paused`` / ``idle``: a window (``window_number``) paused, or open calling
    nobody while its tickets wait, ``value`` minutes; ``imbalance``: ``subject`` is
    ``hall``, ``value`` the index, ``moves`` the balancer's suggestion. ``value`` is
    as measured when raised; ``threshold`` the configured line."""

    kind: Literal["long_wait", "long_queue", "paused", "idle", "imbalance"]
    subject: str
    value: float
    threshold: float
    since: float
    at: float
    window_number: str | None = None
    ticket: str | None = None
    moves: list[BalanceMove] = []


class EngineStats(Outbound):
    """Commit latency is measured from a batch leaving the worker to its commit's fsync."""

    requests: int  # since the engine started
    batches: int
    batch_ms_p50: float  # over the last batches (up to 1,000)
    batch_ms_p99: float
    batch_ms_max: float
    inbound: int  # requests waiting for the worker now
    started_at: float
    at: float

class ClientAvailability(Outbound):
    kind: str  # engine, kiosk, display, device
    id: str
    state: Literal["online", "offline", "stopped"]
    since: float  # when the monitor saw it change (or first saw it)
    seen_change: bool  # False: it was already so when the monitor started

class AvailabilityDigest(Outbound):
    clients: list[ClientAvailability]
    monitor_since: float
    at: float


# ------------------------------------------------------------------- tables ---

REQUEST_TYPES: dict[str, type[Inbound]] = {
    # kiosks
    "kiosk.issue": IssueRequest,
    "kiosk.checkin": CheckinRequest,
    "kiosk.ticket": TicketRef,
    "kiosk.requeue": TicketAction,
    "kiosk.cancel": TicketAction,
    "kiosk.printed": PrintedRequest,
    "kiosk.rate": KioskRateRequest,
    "kiosk.progress": ProgressRequest,
    "kiosk.case": CaseQuery,
    "kiosk.staff": StaffCallRequest,
    "kiosk.profile_get": ProfileRef,
    "kiosk.profile_put": ProfilePutRequest,
    "kiosk.profile_erase": ProfileRef,
    # windows
    "window.login": LoginRequest,
    "window.logout": Plain,
    "window.next": Plain,
    "window.recall": Plain,
    "window.noshow": Plain,
    "window.start": Plain,
    "window.transfer": TransferRequest,
    "window.pause": PauseRequest,
    "window.resume": Plain,
    "window.finish": FinishRequest,
    "window.rate": WindowRateRequest,
    "window.queue": Plain,
    "window.visit": Plain,
    "window.form": Plain,
    "window.case_step": CaseStepRequest,
    "window.case_extend": CaseExtendRequest,
    "window.cases": CaseListRequest,
    # ratings
    "alert.followups": FollowupListRequest,
    "alert.followup_close": FollowupCloseRequest,
    "alert.case_ack": CaseAckRequest,
    # SMS
    "device.sms_status": SmsStatusRequest,
    "device.sms_sync": SmsSyncRequest,
    # an outside case system
    "device.case_open": CaseOpenRequest,
    "device.case_step": CaseRefStepRequest,
    "device.case_extend": CaseRefExtendRequest,
    # the config
    "config.set": ConfigSetRequest,
    "config.appointments": AppointmentsRequest,
    "config.get": ConfigGetRequest,
    "config.history": ConfigHistoryRequest,
    "config.rollback": ConfigRollbackRequest,
}

PAYLOAD_TYPES: dict[str, type] = {
    "Response": Response,
    "Availability": Availability,
    # windows
    "WindowState": WindowState,
    "EvaluatePrompt": EvaluatePrompt,
    "QueueView": QueueView,
    "VisitView": VisitView,
    "SettledEvent": SettledEvent,
    # boards and wall displays
    "ZoneBoard": ZoneBoard,
    "ZoneWaiting": ZoneWaiting,
    "CalledEvent": CalledEvent,
    "ProgressBoard": ProgressBoard,
    "CaseAlert": CaseAlert,
    "CaseDeptStats": CaseDeptStats,
    "WindowsToday": WindowsToday,
    "CaseList": CaseList,
    # ratings
    "FollowUp": FollowUp,
    # kiosks
    "StaffCall": StaffCall,
    "Satisfaction": Satisfaction,
    # SMS
    "SmsRequest": SmsRequest,
    # devices
    "DeviceStatus": DeviceStatus,
    "ScanEvent": ScanEvent,
    # the config
    "ConfigCurrent": ConfigCurrent,
    "ConfigAudit": ConfigAudit,
    # running the hall
    "HallSummary": HallSummary,
    "BalanceView": BalanceView,
    "UnattendedAlert": UnattendedAlert,
    "SupervisionAlert": SupervisionAlert,
    "EngineStats": EngineStats,
    "AvailabilityDigest": AvailabilityDigest,
    **REQUEST_TYPES,
}

# The ``data`` of an ok reply, per request (for docs/protocol.md and clients).
RESPONSE_DATA: dict[str, type] = {
    "kiosk.issue": TicketInfo, "kiosk.checkin": TicketInfo, "kiosk.ticket": TicketInfo,
    "kiosk.requeue": TicketInfo, "kiosk.cancel": TicketInfo, "kiosk.progress": CaseProgress,
    "kiosk.case": CaseView, "window.case_step": CaseView, "window.case_extend": CaseView,
    "alert.case_ack": CaseAlert,
    "device.case_open": CaseView, "device.case_step": CaseView, "device.case_extend": CaseView,
    "window.cases": CaseList,
    "kiosk.staff": StaffCall, "kiosk.printed": PrintedAck, "kiosk.rate": RatingAck, "window.rate": RatingAck,
    "device.sms_status": SmsStatusAck, "device.sms_sync": SmsPending, "config.appointments": AppointmentsLoaded,
    "kiosk.profile_get": ProfileData, "kiosk.profile_put": ProfileData, "kiosk.profile_erase": ProfileErased,
    **{f"window.{op}": WindowState for op in (
        "login", "logout", "next", "recall", "noshow", "start", "transfer", "pause", "resume", "finish")},
    "window.queue": QueueView, "window.visit": VisitView, "window.form": FilledForm,
    "alert.followups": FollowupList, "alert.followup_close": FollowUp,
    "config.set": ConfigApplied, "config.rollback": ConfigApplied,
    "config.get": ConfigRevision, "config.history": ConfigHistory,
}

# reads whose replies are never kept in the idempotency record (a retry reads
# again): they carry personal data, or a whole config
UNRECORDED_OPS = frozenset({"window.visit", "config.get", "config.history"})


# --------------------------------------------------------------------- wire ---

_encoder = msgspec.json.Encoder()


class Unreadable(msgspec.DecodeError):
    """A payload refused before decoding: ``code`` is ``too_large`` or ``too_deep``
    (a DecodeError, so every reader that handles bad JSON handles it too)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# a JSON string (possibly cut short) or one bracket: brackets inside strings do not nest
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def check_bounds(data: bytes, max_size: int = MAX_PAYLOAD, max_depth: int = MAX_DEPTH) -> None:
    """Refuse ``data`` (raise :class:`Unreadable`) if it is too large or nests
    too deep; looks at bytes only, never decodes."""
    if len(data) > max_size:
        raise Unreadable(E.TOO_LARGE, f"payload of {len(data)} bytes; at most {max_size}")
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return  # the common case: too few brackets to nest too deep at all
    depth = 0
    for tok in _TOKENS.finditer(data):
        c = tok.group()[0]
        if c == 0x5B or c == 0x7B:  # [ {
            depth += 1
            if depth > max_depth:
                raise Unreadable(E.TOO_DEEP, f"arrays/objects nested deeper than {max_depth}")
        elif c == 0x5D or c == 0x7D:  # ] }
            depth -= 1


def encode(msg: Any) -> bytes:
    return _encoder.encode(msg)


def request_payload(name: str, rid: str, body: Any) -> bytes:
    """The request ``name`` (``kiosk.issue``) with id ``rid``, built as its
    registered type and encoded: a field the engine would refuse (unknown,
    wrong type, out of bounds) raises ``msgspec.ValidationError`` naming it,
    before anything is sent.  ``body``: a dict of fields, or the request struct."""
    fields = msgspec.to_builtins(body) if isinstance(body, msgspec.Struct) else body
    return _encoder.encode(msgspec.convert({**fields, "id": rid}, REQUEST_TYPES[name]))


def reply_data(name: str, data: Any) -> Any:
    """The ``data`` of an ok reply to ``name`` as its registered type (RESPONSE_DATA);
    raises ``msgspec.ValidationError`` naming the field that does not fit."""
    return msgspec.convert(data, RESPONSE_DATA[name])


def decode(data: bytes, type_: type, max_size: int | None = None) -> Any:
    """Bound (nesting always, size when given), decode and validate; raises
    :class:`Unreadable`, ``msgspec.ValidationError`` or ``msgspec.DecodeError``."""
    check_bounds(data, len(data) if max_size is None else max_size)
    return msgspec.json.decode(data, type=type_)


class _IdOnly(msgspec.Struct):
    id: Any = None


def best_effort_id(data: bytes, max_size: int = MAX_PAYLOAD) -> str:
    """The request id of a payload that failed validation, if it has one.

    Decoded into a one-field struct (other fields are skipped, not built), and
    only from a payload that passed :func:`check_bounds`."""
    try:
        check_bounds(data, max_size)
        rid = msgspec.json.decode(data, type=_IdOnly).id
    except (Unreadable, msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return rid if isinstance(rid, str) and 0 < len(rid) <= 64 else ""
