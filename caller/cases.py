"""Cases (办件): what an accepted visit becomes, its timeline, its deadline, its supervision.

Pure: every function takes the hall config and the time and returns records;
the engine extension (caller/case_desk.py) owns the requests, the store and
the topics.

A case is opened when a visit is settled as 受理 (accepted) at a window.  It
gets a case number unique for ever in the hall (``<year><6-digit sequence>``)
and a promised deadline: the matter's ``promise_days`` working days after the
day it was accepted (caller/workdays.py: national holidays, 调休, the hall's
closures).

Stages and the only moves allowed (``TRANSITIONS``)::

    受理 accepted → 审查 review → 决定 decided → 制证 issuing → 待领取 ready → 已领取 collected
    accepted / review / decided → 补正中 correction → back to the stage it left
    review / decided → 不予许可 denied;  any open stage → 撤回 withdrawn

While a case waits in 补正中 for the citizen's material its clock stops: on
resuming, the deadline moves by the working days spent there.  A case finished
(collected, ready, denied or withdrawn counts as decided for supervision when
it reaches ``ready``/``denied``) is early, on time or overdue against its deadline.

Supervision (电子监察): a yellow warning ``warn_days`` working days before the
deadline, red once it has passed; a supervisor acknowledges a warning, a new
colour needs a new acknowledgement.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from hall.config import HallConfig
from hall.errors import ErrorCode
from hall.errors import ErrorCode as E

from .workdays import add_working_days, working_days_between

Stage = Literal["accepted", "review", "decided", "issuing", "ready", "collected",
                "correction", "denied", "withdrawn"]
STAGE_NAMES = {"accepted": "受理", "review": "审查", "decided": "决定", "issuing": "制证",
               "ready": "待领取", "collected": "已领取", "correction": "补正中",
               "denied": "不予许可", "withdrawn": "撤回"}
OPEN: tuple[Stage, ...] = ("accepted", "review", "decided", "issuing", "correction")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "accepted": ("review", "correction", "withdrawn"),
    "review": ("decided", "correction", "denied", "withdrawn"),
    "decided": ("issuing", "ready", "correction", "denied", "withdrawn"),
    "issuing": ("ready", "withdrawn"),
    "ready": ("collected",),
    "correction": (),  # back to the stage it left (``resume``), or withdrawn: see allowed()
    "collected": (), "denied": (), "withdrawn": (),
}
# the stages at which the administration has done its part: judged against the deadline
DECIDED: tuple[Stage, ...] = ("ready", "collected", "denied")


class CaseError(ValueError):
    """A step the timeline does not allow; ``code`` for the reply."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CaseStep(msgspec.Struct, kw_only=True, gc=False):
    stage: Stage
    at: float
    handler: str  # staff id, or the outside system's handler name
    opinion: str = ""


class Case(msgspec.Struct, kw_only=True):
    case: str
    ticket: str | None
    source: str  # the window or outside system that opened it
    matter: str
    department: str
    stage: Stage
    accepted_day: str
    deadline: str  # ISO date, moved by time in 补正中 and by extensions
    steps: list[CaseStep]
    name_masked: str = ""  # 张*三 (hall.pii.mask): what boards and look-ups show
    applicant: bytes | None = None  # DataCipher token of {name, id_number, phone}
    check_id4: str | None = None  # keyed hashes of the last four digits: the kiosk's second factor
    check_phone4: str | None = None
    resume: Stage | None = None  # the stage a 补正中 returns to
    paused_day: str | None = None
    extensions: int = 0
    result: Literal["early", "on_time", "overdue"] | None = None
    warning: Literal["", "yellow", "red"] = ""
    acked: str = ""  # the warning colour a supervisor acknowledged
    updated_at: float = 0.0
    ref: str | None = None  # the outside case system's own number (``source`` is that system)
    lang: str = "zh-CN"  # of the citizen's SMS


def allowed(c: Case) -> tuple[str, ...]:
    if c.stage == "correction":
        return (c.resume or "accepted", "withdrawn")
    return TRANSITIONS[c.stage]


def case_number(year: int, seq: int) -> str:
    """Digits only (year + sequence): typed on a kiosk's number pad, read over the phone."""
    return f"{year}{seq:06d}"


def open_case(cfg: HallConfig, number: str, matter: str, source: str, ticket: str | None,
              handler: str, day: dt.date, now: float, opinion: str = "") -> Case:
    mt = cfg.matter(matter)
    if mt is None:
        raise CaseError(E.UNKNOWN_MATTER, f"no matter {matter!r} in this hall")
    deadline = add_working_days(day, mt.promise_days, cfg.service_hours)
    return Case(case=number, ticket=ticket, source=source, matter=matter,
                department=mt.department.get("zh-CN"), stage="accepted", accepted_day=day.isoformat(),
                deadline=deadline.isoformat(),
                steps=[CaseStep(stage="accepted", at=now, handler=handler, opinion=opinion)],
                updated_at=now)


def step(cfg: HallConfig, c: Case, stage: str, handler: str, opinion: str, day: dt.date,
         now: float) -> Case:
    """A new case record after one move of the timeline; the old one is untouched."""
    if stage not in STAGE_NAMES:
        raise CaseError(E.BAD_REQUEST, f"no stage {stage!r}")
    if stage not in allowed(c):
        raise CaseError(E.BAD_TRANSITION,
                        f"case {c.case} is {STAGE_NAMES[c.stage]} ({c.stage}); it may go to "
                        + (", ".join(allowed(c)) or "no other stage"))
    if stage in ("denied", "correction") and not opinion.strip():
        raise CaseError(E.BAD_REQUEST, f"{STAGE_NAMES[stage]} needs an opinion (what and why)")
    new = msgspec.structs.replace(c, stage=stage, updated_at=now,
                                  steps=[*c.steps, CaseStep(stage=stage, at=now, handler=handler,
                                                            opinion=opinion)])
    if stage == "correction":
        new = msgspec.structs.replace(new, resume=c.stage, paused_day=day.isoformat())
    elif c.stage == "correction":
        paused = dt.date.fromisoformat(c.paused_day or day.isoformat())
        lost = working_days_between(paused, day, cfg.service_hours)
        deadline = add_working_days(dt.date.fromisoformat(c.deadline), lost, cfg.service_hours)
        new = msgspec.structs.replace(new, resume=None, paused_day=None, deadline=deadline.isoformat())
    if stage in DECIDED and c.stage not in DECIDED:
        new = msgspec.structs.replace(new, result=judge(cfg, new, day))
    return new  # its warning is the desk's to raise or clear (warning_for)


def extend(cfg: HallConfig, c: Case, days: int, handler: str, reason: str, now: float) -> Case:
    """A deadline extended by law (延期): ``days`` more working days, with the reason."""
    if c.stage not in OPEN:
        raise CaseError(E.BAD_STATE, f"case {c.case} is {STAGE_NAMES[c.stage]}; only an open case is extended")
    if days <= 0 or not reason.strip():
        raise CaseError(E.BAD_REQUEST, "an extension needs a number of days and a reason")
    deadline = add_working_days(dt.date.fromisoformat(c.deadline), days, cfg.service_hours)
    return msgspec.structs.replace(c, deadline=deadline.isoformat(), extensions=c.extensions + 1,
                                   updated_at=now, steps=[*c.steps, CaseStep(
                                       stage=c.stage, at=now, handler=handler,
                                       opinion=f"延期 {days} 个工作日：{reason}")])


def judge(cfg: HallConfig, c: Case, day: dt.date) -> str:
    deadline = dt.date.fromisoformat(c.deadline)
    if day > deadline:
        return "overdue"
    return "early" if day < deadline else "on_time"


def days_left(cfg: HallConfig, c: Case, day: dt.date) -> int:
    """Working days from ``day`` to the deadline (0 on the day, negative once past)."""
    return working_days_between(day, dt.date.fromisoformat(c.deadline), cfg.service_hours)


def warning_for(cfg: HallConfig, c: Case, day: dt.date, warn_days: int) -> str:
    """The supervision colour a case should show on ``day``."""
    if c.stage not in OPEN or c.stage == "correction":
        return ""  # done, or the clock is stopped waiting for the citizen
    left = days_left(cfg, c, day)
    if left < 0:
        return "red"
    return "yellow" if left <= warn_days else ""
