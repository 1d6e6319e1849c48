"""The kiosk's pure core: a state machine over screens, driven by presses, scans,
replies and the time, returning effects for the shell to carry out.

No MQTT, printer, Kivy or clock calls in here: every method takes ``now``
(monotonic seconds) and returns a list of :class:`Send` / :class:`Print`.

Never two tickets: an issue or check-in request gets its id *once*, when the
citizen presses "take a number"; "Retry" after a timeout re-sends the same id,
so the engine answers from its idempotency record instead of numbering again.
While a request is out the busy screen ignores presses and never times out
(the requester's own timeout bounds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Generic, TypeVar

from hall.config import HallConfig
from hall.idcodes import MOBILE_RE

from hall import guide as guides

PAGE = 8
PAGE_ELDERLY = 5


class S(StrEnum):
    HOME = "home"
    ZONE = "zone"
    BUNDLES = "bundles"
    SEARCH = "search"
    MATTER = "matter"
    IDENTITY = "identity"
    PHONE = "phone"
    CONFIRM = "confirm"
    CODE = "code"
    BUSY = "busy"
    TICKET = "ticket"
    ERROR = "error"
    CHECKIN = "checkin"
    PROGRESS = "progress"            # the case number
    PROGRESS_CODE = "progress_code"  # the last four of the applicant's ID or phone
    PROGRESS_RESULT = "progress_result"
    LOOKUP = "lookup"
    STAFF = "staff"
    # the application form (kiosk/forms_flow.py)
    FORM_ID = "form_id"
    FORM_CONSENT = "form_consent"
    FORM = "form"
    FORM_FIELD = "form_field"
    FORM_REVIEW = "form_review"


@dataclass(frozen=True)
class Send:
    """Send a request; ``token`` comes back with the reply (None: fire and forget)."""

    op: str
    body: dict[str, Any]
    req_id: str
    token: int | None


@dataclass(frozen=True)
class Print:
    token: int
    ticket: dict[str, Any]
    target: str | None
    answers: dict[str, str]
    lang: str
    phone: str | None


@dataclass(frozen=True)
class PrintCase:
    """Print a case's timeline (as the screen shows it: masked) on the ticket printer."""

    token: int
    case: dict[str, Any]
    lang: str


Effect = Send | Print | PrintCase
CODE_RE = re.compile(r"^[0-9X]{4}$")  # the kiosk's second factor: 4 of an ID number (X) or a phone


@dataclass
class Session:
    """Everything one citizen has chosen; reset on home or timeout."""

    lang: str
    elderly: bool = False
    zone: str | None = None
    target: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    phone: str | None = None
    identity: str | None = None
    priority: str = "normal"
    priority_code: str | None = None
    typed: str = ""
    page: int = 0
    issue_id: str | None = None          # request id of "take a number", kept for Retry
    retry: Send | None = None
    error: str | None = None             # engine error code shown on ERROR
    error_back: S = S.HOME
    ticket: dict[str, Any] | None = None
    print_state: str = "none"            # none | printing | ok | failed | no_printer
    progress: dict[str, Any] | None = None
    case_no: str = ""                     # typed on PROGRESS, asked for with the code
    case_print: str = "none"              # none | printing | ok | failed: the case slip
    lookup: dict[str, Any] | None = None
    lookup_secret: str | None = None      # from the scanned QR; needed to cancel, re-queue, rate
    lookup_note: str | None = None
    via_checkin: bool = False
    bad_input: bool = False               # the last OK on a keypad was refused (shown in red)
    form: Any = None                      # forms_flow.FormFill while a form is being filled


class KioskFlow:
    def __init__(self, cfg: HallConfig, kiosk_id: str, new_id: Callable[[], str], *,
                 has_printer: bool = True):
        guides.check_guides(cfg)
        self.cfg = cfg
        self.kiosk_id = kiosk_id
        self.new_id = new_id
        self.has_printer = has_printer
        self.default_lang = cfg.kiosks.default_lang
        self.s = Session(lang=self.default_lang)
        self.screen = S.HOME
        self.last_touch = 0.0
        self.token = 0
        self.pending: int | None = None
        self.engine_online: bool | None = None   # from engine availability; None = unknown
        self.printer_state: str = "unknown"      # ok | near_end | paper_out | offline | unknown
        self.changes = 0                         # bumped on every visible change (renderer hint)
        self._search = None
        self.waiting: dict[str, dict[str, int]] = {}  # zone → group prefix → waiting (zone/<z>/waiting)

    # ----------------------------------------------------------- helpers --
    @property
    def lang(self) -> str:
        return self.s.lang

    def _go(self, screen: S) -> None:
        self.screen = screen
        self.s.page = 0
        self.changes += 1

    def _home(self, *, keep_lang: bool = True) -> None:
        lang = self.s.lang if keep_lang else self.default_lang
        elderly = self.s.elderly if keep_lang else False
        self.s = Session(lang=lang, elderly=elderly)
        self._go(S.HOME)

    def _send(self, op: str, body: dict[str, Any], req_id: str | None = None) -> Send:
        self.token += 1
        self.pending = self.token
        eff = Send(op, body, req_id or self.new_id(), self.token)
        self.s.retry = eff
        self._go(S.BUSY)
        return eff

    def page_size(self) -> int:
        return PAGE_ELDERLY if self.s.elderly else PAGE

    def search_index(self):
        if self._search is None:
            from hall.matter_search import SearchIndex
            self._search = SearchIndex(self.cfg)
        return self._search

    def resolved(self) -> guides.Resolved | None:
        return guides.resolve(self.cfg, self.s.target) if self.s.target else None

    def checklist(self):
        res = self.resolved()
        return guides.checklist(res, self.s.answers) if res else []

    def offered_classes(self) -> list[str]:
        offer = list(self.cfg.kiosks.priority_offer)
        if not offer:
            appt = self.cfg.priority.appointment_class
            offer = [c.id for c in self.cfg.priority.classes if c.id not in ("normal", appt)]
        return offer

    def timeout_for(self, screen: S) -> float | None:
        t = self.cfg.kiosks.timeouts
        if screen == S.BUSY:
            return None
        if screen == S.TICKET:
            return t.ticket_s
        return t.idle_s

    # ------------------------------------------------------------- input --
    def tick(self, now: float) -> list[Effect]:
        limit = self.timeout_for(self.screen)
        if limit is None or now - self.last_touch < limit:
            return []
        if self.screen != S.HOME or self.s.lang != self.default_lang or self.s.elderly or self.s.typed:
            self._home(keep_lang=False)
        self.last_touch = now
        return []

    def press(self, action: str, now: float) -> list[Effect]:
        """``action`` is a button's ``name`` or ``name:arg`` (kiosk/view.py builds them);
        the handler comes from :data:`ACTIONS`, its argument parsed to its type first."""
        if self.screen == S.BUSY:
            return []  # a second press while a request is out must not send a second one
        self.last_touch = now
        name, _, raw = action.partition(":")
        handler = ACTIONS.get(name)
        if handler is None:
            raise ValueError(f"unknown kiosk action {action!r}")
        try:
            arg = handler.parse(raw)
        except ValueError as e:
            raise ValueError(f"kiosk action {action!r}: bad argument ({e})") from None
        return handler.run(self, arg) or []

    def scan(self, line: str, now: float) -> list[Effect]:
        """A line from a QR / ID reader; what it means depends on the screen."""
        line = line.strip()
        if not line or self.screen == S.BUSY:
            return []
        self.last_touch = now
        if self.s.form is not None and self.screen.value.startswith("form"):
            return forms_flow.scan(self, line)
        if self.screen == S.IDENTITY:
            self.s.identity = line[:64]
            self.changes += 1
            return []
        if self.screen == S.CODE:
            self.s.typed = line[:32]
            return self._submit_pressed()
        if self.screen == S.PROGRESS:
            self.s.typed = line[:32]
            return self._submit_pressed()
        from .ticket_layout import parse_ticket_qr
        scanned = parse_ticket_qr(self.cfg, line)
        if scanned is not None:
            # looked up by id; the secret from the QR (if any) lets the citizen
            # cancel, re-queue or rate it here
            self._home()
            self.s.lookup_secret = scanned[1]
            return [self._send("ticket", {"ticket": scanned[0]})]
        if self.screen in (S.HOME, S.CHECKIN):
            self._home()
            self.s.typed = line[:64]
            return self._checkin()
        return []

    # ----------------------------------------------------------- actions --
    def _home_pressed(self) -> None:
        self._home()

    def _lang_pressed(self, lang: str) -> None:
        if lang in self.cfg.hall.languages:
            self.s.lang = lang
            self.changes += 1

    def _elderly_pressed(self) -> None:
        self.s.elderly = not self.s.elderly
        self.s.page = 0
        self.changes += 1

    def _zone_pressed(self, zid: str) -> None:
        if self.cfg.zone(zid):
            self.s.zone = zid
            self._go(S.ZONE)

    def _bundles_pressed(self) -> None:
        self._go(S.BUNDLES)

    def _search_pressed(self) -> None:
        self.s.typed = ""
        self._go(S.SEARCH)

    def _checkin_pressed(self) -> None:
        self.s.typed = ""
        self._go(S.CHECKIN)

    def _progress_pressed(self) -> None:
        self.s.typed = ""
        self.s.case_no = ""
        self.s.progress = None
        self._go(S.PROGRESS)

    def _page_pressed(self, delta: int) -> None:
        self.s.page = max(0, self.s.page + delta)
        self.changes += 1

    def _key_pressed(self, key: str) -> list[Effect] | None:
        if key == "del":
            self.s.typed = self.s.typed[:-1]
        elif key == "clear":
            self.s.typed = ""
        elif len(key) == 1 and key.isalnum() and len(self.s.typed) < 32:
            self.s.typed += key
        self.s.bad_input = False
        self.s.page = 0
        self.changes += 1
        return None

    def _target_pressed(self, tid: str) -> None:
        if not (self.cfg.matter(tid) or self.cfg.bundle(tid)):
            return
        self.s.target = tid
        res = self.resolved()
        self.s.answers = guides.default_answers(res) if res else {}
        self._go(S.MATTER)

    def _answer_pressed(self, answer: tuple[str, str]) -> None:
        q, opt = answer
        res = self.resolved()
        if res and any(qq.id == q and any(o.id == opt for o in qq.options) for qq in res.questions):
            self.s.answers[q] = opt
            self.changes += 1

    def _back_pressed(self) -> None:
        back = {
            S.ZONE: S.HOME, S.BUNDLES: S.HOME, S.SEARCH: S.HOME, S.CHECKIN: S.HOME,
            S.PROGRESS: S.HOME, S.PROGRESS_CODE: S.PROGRESS, S.PROGRESS_RESULT: S.HOME, S.IDENTITY: S.MATTER,
            S.PHONE: S.IDENTITY if self.cfg.kiosks.identity else S.MATTER,
            S.CODE: S.CONFIRM, S.LOOKUP: S.HOME, S.STAFF: S.HOME,
        }
        if self.screen == S.MATTER:
            target = S.ZONE if self.s.zone else S.HOME
            if self.s.target and self.cfg.bundle(self.s.target) and not self.s.zone:
                target = S.BUNDLES
            self._go(target)
        elif self.screen == S.CONFIRM and self.s.form is not None:
            self._go(S.FORM_REVIEW)
        elif self.screen == S.CONFIRM:
            k = self.cfg.kiosks
            self._go(S.IDENTITY if k.identity else S.PHONE if k.phone else S.MATTER)
        elif self.screen == S.ERROR:
            self._go(self.s.error_back)
        else:
            self._go(back.get(self.screen, S.HOME))

    def _next_pressed(self) -> None:
        k = self.cfg.kiosks
        if self.screen == S.MATTER and forms_flow.has_form(self):
            forms_flow.start(self)
        elif self.screen == S.MATTER:
            self._go(S.IDENTITY if k.identity else S.PHONE if k.phone else S.CONFIRM)
        elif self.screen == S.IDENTITY:
            self._go(S.CONFIRM)

    def _phone_pressed(self) -> None:
        self.s.typed = self.s.phone or ""
        self._go(S.PHONE)

    def _skip_pressed(self) -> None:
        if self.screen == S.PHONE:
            self.s.phone = None
        self._go(S.CONFIRM)

    def _prio_pressed(self, cls: str) -> None:
        known = {c.id: c for c in self.cfg.priority.classes}
        if cls not in known:
            return
        if known[cls].requires_code:
            self.s.typed = ""
            self.s.priority = cls
            self._go(S.CODE)
            return
        self.s.priority = cls
        self.s.priority_code = None
        self.changes += 1

    def _submit_pressed(self) -> list[Effect] | None:
        typed = self.s.typed.strip()
        if self.screen == S.PHONE:
            if MOBILE_RE.match(typed):
                self.s.phone = typed
                self.s.typed = ""
                self.s.bad_input = False
                self._go(S.CONFIRM)
            else:
                self.s.bad_input = True
                self.changes += 1
            return None
        if self.screen == S.CODE:
            if typed:
                self.s.priority_code = typed
                self.s.typed = ""
                self._go(S.CONFIRM)
            return None
        if self.screen == S.CHECKIN and typed:
            return self._checkin()
        if self.screen == S.PROGRESS and typed:
            self.s.case_no, self.s.typed, self.s.bad_input = typed, "", False
            self._go(S.PROGRESS_CODE)
            return None
        if self.screen == S.PROGRESS_CODE:
            if not CODE_RE.match(typed.upper()):
                self.s.bad_input = True
                self.changes += 1
                return None
            self.s.typed, self.s.bad_input = "", False
            # a wrong code answers like an unknown case (the engine gives no oracle)
            return [self._send("case", {"case": self.s.case_no, "code": typed.upper()})]
        return None

    def _print_case_pressed(self) -> list[Effect] | None:
        if self.screen != S.PROGRESS_RESULT or not self.s.progress or not self.has_printer \
                or self.s.case_print == "printing":
            return None
        self.token += 1
        self.s.case_print = "printing"
        self.changes += 1
        return [PrintCase(self.token, dict(self.s.progress), self.s.lang)]

    def on_case_printed(self, token: int, ok: bool) -> None:
        """The shell printed a case slip (or failed to)."""
        if token == self.token and self.screen == S.PROGRESS_RESULT:
            self.s.case_print = "ok" if ok else "failed"
            self.changes += 1

    def _checkin(self) -> list[Effect]:
        code = self.s.typed.strip()
        self.s.typed = ""
        self.s.via_checkin = True
        self.s.issue_id = self.new_id()
        body: dict[str, Any] = {"code": code, "lang": self.s.lang}
        return [self._send("checkin", body, self.s.issue_id)]

    def _take_pressed(self) -> list[Effect] | None:
        if self.screen != S.CONFIRM or not self.s.target:
            return None
        # A fresh id per press: the busy screen swallows double presses, and the
        # only re-send of this request is "Retry" after a timeout, which reuses
        # the id (a definitive refusal must not be replayed for a corrected request).
        self.s.issue_id = self.new_id()
        key = "bundle" if self.cfg.bundle(self.s.target) else "matter"
        body: dict[str, Any] = {key: self.s.target, "priority": self.s.priority, "lang": self.s.lang}
        if self.s.priority_code:
            body["priority_code"] = self.s.priority_code
        if self.s.phone:
            body["phone"] = self.s.phone
        if self.s.answers:  # the window sees what the citizen answered (the checklist follows)
            body["answers"] = dict(self.s.answers)
        # a scanned ID alone is not sent: the engine takes a form only for a
        # matter that has one (kiosk/forms_flow.py fills it)
        form = forms_flow.issue_form(self)
        if form:
            body["form"] = form
        return [self._send("issue", body, self.s.issue_id)]

    def _retry_pressed(self) -> list[Effect] | None:
        prev = self.s.retry
        if self.screen != S.ERROR or prev is None:
            return None
        return [self._send(prev.op, prev.body, prev.req_id)]  # same id: never a second ticket

    def _own_ticket(self) -> dict[str, Any] | None:
        """The looked-up ticket and its secret, for acting on it; without the
        secret (a number typed, not scanned) the citizen is asked to scan."""
        if not self.s.lookup:
            return None
        if not self.s.lookup_secret:
            self.s.error, self.s.error_back = "bad_secret", S.HOME
            self._go(S.ERROR)
            return None
        return {"ticket": self.s.lookup["ticket"], "secret": self.s.lookup_secret}

    def _requeue_pressed(self) -> list[Effect] | None:
        own = self._own_ticket()
        if own:
            self.s.issue_id = self.new_id()
            return [self._send("requeue", own, self.s.issue_id)]
        return None

    def _cancel_pressed(self) -> list[Effect] | None:
        own = self._own_ticket()
        return [self._send("cancel", own)] if own else None

    def _rate_pressed(self, level: int) -> list[Effect] | None:
        own = self._own_ticket()
        return [self._send("rate", {**own, "level": level})] if own else None

    def _staff_pressed(self) -> list[Effect]:
        # 呼叫工作人员: the engine raises alert/<kiosk>/staff for the floor staff
        return [self._send("staff", {"reason": "elderly" if self.s.elderly else "help", "lang": self.s.lang})]

    def _done_pressed(self) -> None:
        self._home(keep_lang=False)

    # ----------------------------------------------------------- replies --
    def on_reply(self, token: int | None, ok: bool, data: Any, code: str | None, now: float) -> list[Effect]:
        if token is None or token != self.pending:
            return []  # a late answer to something the citizen has left
        self.pending = None
        self.last_touch = now
        op = self.s.retry.op if self.s.retry else ""
        if not ok:
            self.s.error = code or "error"
            self.s.error_back = {
                "bad_priority_code": S.CONFIRM, "unknown_appointment": S.CHECKIN,
                "too_early": S.CHECKIN, "wrong_day": S.CHECKIN, "unknown_case": S.PROGRESS,
                "rate_limited": S.HOME,
                "bad_form": S.FORM, "bad_profile": S.FORM,
            }.get(self.s.error, S.FORM_CONSENT if op.startswith("profile_") else S.HOME)
            if self.s.error == "bad_priority_code":
                self.s.priority, self.s.priority_code = "normal", None
            self._go(S.ERROR)
            return []
        if op.startswith("profile_"):
            return forms_flow.on_reply(self, op, data)
        if op in ("issue", "checkin", "requeue"):
            self.s.ticket = dict(data)
            keep = forms_flow.after_issue(self) if op == "issue" else []
            filled, total, _ = forms_flow.counts(self) if op == "issue" else (0, 0, 0)
            if total:  # screen and printed ticket say how much of the form the window has
                self.s.ticket.update(form_filled=filled, form_total=total)
            if op != "issue":
                self.s.target = data.get("bundle") or data.get("matter")
                res = self.resolved()
                self.s.answers = guides.default_answers(res) if res else {}
            self._go(S.TICKET)
            if not self.has_printer:
                self.s.print_state = "no_printer"
                return [*keep, self._printed(False, "no printer")]
            self.s.print_state = "printing"
            return [*keep, Print(self.token, self.s.ticket, self.s.target, dict(self.s.answers),
                                 self.s.lang, self.s.phone)]
        if op == "staff":
            self._go(S.STAFF)
            return []
        if op in ("progress", "case"):
            self.s.progress = dict(data) if isinstance(data, dict) else {"raw": data}
            self.s.case_print = "none"
            self._go(S.PROGRESS_RESULT)
        elif op in ("ticket", "cancel", "rate"):
            if op == "ticket":
                self.s.lookup = dict(data)
                self.s.lookup_note = None
            elif op == "cancel":
                self.s.lookup_note = "lookup.cancelled"
                if isinstance(data, dict) and "ticket" in data:
                    self.s.lookup = dict(data)
            else:
                self.s.lookup_note = "lookup.thanks"
            self._go(S.LOOKUP)
        return []

    def _printed(self, ok: bool, error: str | None, ticket: str | None = None) -> Send:
        ticket = ticket or (self.s.ticket or {}).get("ticket", "")
        body: dict[str, Any] = {"ticket": ticket, "ok": ok}
        if error:
            body["error"] = error[:500]
        return Send("printed", body, self.new_id(), None)

    def on_printed(self, token: int, ticket: str, ok: bool, error: str | None, now: float) -> list[Effect]:
        """The shell printed (or failed to); the engine hears it even if the citizen has gone on."""
        if self.s.ticket is not None and self.s.ticket.get("ticket") == ticket and self.screen == S.TICKET:
            self.s.print_state = "ok" if ok else "failed"
            self.changes += 1
        return [self._printed(ok, error, ticket)]

    def on_waiting(self, zone: str, waiting: dict[str, int] | None) -> None:
        """A zone's retained waiting counts per group; None when they were cleared."""
        if waiting is None:
            self.waiting.pop(zone, None)
        else:
            self.waiting[zone] = dict(waiting)
        if self.screen in (S.HOME, S.ZONE, S.BUNDLES, S.SEARCH, S.MATTER):
            self.changes += 1

    def set_engine_online(self, online: bool | None) -> None:
        if online != self.engine_online:
            self.engine_online = online
            self.changes += 1

    def set_printer_state(self, state: str) -> None:
        if state != self.printer_state:
            self.printer_state = state
            self.changes += 1


# ------------------------------------------------------------- dispatch --
A = TypeVar("A")


@dataclass(frozen=True)
class Handler(Generic[A]):
    """One row of the action table: ``parse`` turns the text after ``:`` into the
    handler's argument (ValueError when it cannot), ``run`` does the action."""

    run: Callable[[KioskFlow, A], list[Effect] | None]
    parse: Callable[[str], A]


def _no_arg(raw: str) -> None:
    if raw:
        raise ValueError("takes no argument")
    return None


def _plain(method: Callable[[KioskFlow], list[Effect] | None]) -> Handler[None]:
    return Handler(lambda flow, _: method(flow), _no_arg)


def _text(raw: str) -> str:
    return raw


def _answer(raw: str) -> tuple[str, str]:
    question, eq, option = raw.partition("=")
    if not eq:
        raise ValueError("expected question=option")
    return question, option


def _level(raw: str) -> int:
    # GB/T 39734 five levels; anything else is a bug in the screen that sent it
    if raw not in ("1", "2", "3", "4", "5"):
        raise ValueError("level 1..5")
    return int(raw)


# Every action a screen may send.  A new screen adds its rows here (with a
# parser for its argument), so an action name is checked once, at the press.
ACTIONS: dict[str, Handler[Any]] = {
    "home": _plain(KioskFlow._home_pressed),
    "lang": Handler(KioskFlow._lang_pressed, _text),
    "elderly": _plain(KioskFlow._elderly_pressed),
    "zone": Handler(KioskFlow._zone_pressed, _text),
    "bundles": _plain(KioskFlow._bundles_pressed),
    "search": _plain(KioskFlow._search_pressed),
    "checkin": _plain(KioskFlow._checkin_pressed),
    "progress": _plain(KioskFlow._progress_pressed),
    "page": Handler(KioskFlow._page_pressed, int),
    "key": Handler(KioskFlow._key_pressed, _text),
    "target": Handler(KioskFlow._target_pressed, _text),
    "answer": Handler(KioskFlow._answer_pressed, _answer),
    "back": _plain(KioskFlow._back_pressed),
    "next": _plain(KioskFlow._next_pressed),
    "phone": _plain(KioskFlow._phone_pressed),
    "skip": _plain(KioskFlow._skip_pressed),
    "prio": Handler(KioskFlow._prio_pressed, _text),
    "submit": _plain(KioskFlow._submit_pressed),
    "take": _plain(KioskFlow._take_pressed),
    "retry": _plain(KioskFlow._retry_pressed),
    "requeue": _plain(KioskFlow._requeue_pressed),
    "cancel": _plain(KioskFlow._cancel_pressed),
    "rate": Handler(KioskFlow._rate_pressed, _level),
    "done": _plain(KioskFlow._done_pressed),
    "staff": _plain(KioskFlow._staff_pressed),
    "print_case": _plain(KioskFlow._print_case_pressed),
}

# the application form's actions: kiosk/forms_flow.py adds its rows to ACTIONS
from . import forms_flow  # noqa: E402
