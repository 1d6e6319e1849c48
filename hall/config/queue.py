"""The queue part of the hall config: zones, matters, bundles, windows, priorities, hours."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from .base import Ident, Names, Strict

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HallInfo(Strict):
    id: Ident = Field(description="Hall id; the second topic level `onewindow/<id>/…`.")
    name: Names = Field(description="The hall's name, shown on screens and tickets.")
    timezone: str = Field("Asia/Shanghai", description="IANA zone; numbering resets at its midnight.")
    languages: list[Literal["zh-CN", "zh-TW", "en"]] = Field(
        default=["zh-CN", "en"], min_length=1, description="Languages offered on kiosks and screens.")
    public_url: str | None = Field(
        None, pattern=r"^https?://[^\s?#]+[^/\s?#]$",
        description="Public base URL of the hall's ticket page (no trailing slash): the ticket QR links to "
                    "`<public_url>/t/<ticket>?s=<secret>` to check the position, cancel and rate.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v


class Period(Strict):
    start: dt.time = Field(description="Local time the period opens, `HH:MM`.")
    end: dt.time = Field(description="Local time the period closes, `HH:MM`.")

    @model_validator(mode="after")
    def _order(self) -> "Period":
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class ServiceHours(Strict):
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"],
                                description="Weekdays the hall is open.")
    periods: list[Period] = Field(
        default=[Period(start=dt.time(8, 30), end=dt.time(12, 0)),
                 Period(start=dt.time(13, 30), end=dt.time(17, 30))],
        description="Opening periods of an open day; windows without staff inside them raise 空岗.")
    closed_dates: list[dt.date] = Field(default=[], description="Public holidays.")
    extra_open_dates: list[dt.date] = Field(default=[], description="调休 working days (e.g. a Saturday).")

    def is_open(self, local: dt.datetime) -> bool:
        d = local.date()
        if d in self.closed_dates:
            return False
        if d not in self.extra_open_dates and WEEKDAYS[local.weekday()] not in self.days:
            return False
        t = local.time()
        return any(p.start <= t < p.end for p in self.periods)


class Group(Strict):
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$", description="Number prefix, e.g. `A` → A001.")
    name: Names = Field(description="What the group is, for boards (waiting per group).")
    digits: int = Field(3, ge=2, le=5, description="Digits of the daily sequence (A001 vs A0001).")


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rrggbb`` colours (1 … 21)."""
    def lum(h: str) -> float:
        def ch(v: int) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b_ = (int(h[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b_)
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


class Zone(Strict):
    id: Ident = Field(description="Zone id (a topic level of its board).")
    name: Names = Field(description="Shown on screens and tickets: 企业开办区.")
    floor: str | None = Field(None, description="Where the zone is, printed on tickets.")
    colour: str = Field("#0A458C", pattern=r"^#[0-9A-Fa-f]{6}$",
                        description="The zone's tile colour on the kiosk (`#rrggbb`) under white text, which "
                                    "must reach a contrast of 4.5:1 on it (WCAG AA).")
    icon: str | None = Field(None, min_length=1, max_length=2,
                             description="A badge of one or two characters on the kiosk tile (企, 税…); "
                                         "default the name's first character.")

    @field_validator("colour")
    @classmethod
    def _readable(cls, v: str) -> str:
        if contrast(v, "#FFFFFF") < 4.5:
            raise ValueError(f"{v}: white text on it has a contrast of {contrast(v, '#FFFFFF'):.2f}, under 4.5:1")
        return v


class Matter(Strict):
    id: Ident = Field(description="Matter id, as kiosks and windows name it.")
    name: Names = Field(description="The matter's name, as citizens know it.")
    group: str = Field(description="Number prefix group of its tickets.")
    department: Names = Field(description="Department that owns the matter.")
    zone: Ident = Field(description="Zone whose windows serve it and whose screens show it.")
    minutes: float = Field(10, gt=0, le=480, description="Expected handling minutes; the estimate starts here.")
    promise_days: int = Field(5, ge=0, le=365,
                              description="承诺时限: working days promised from acceptance (受理) to decision.")


class Bundle(Strict):
    """一件事: several matters taken with one ticket and served at one window."""

    id: Ident = Field(description="Bundle id; shares the id space of matters.")
    name: Names = Field(description="The life event: 开办餐饮店一件事.")
    matters: list[Ident] = Field(min_length=2, description="The matters of the bundle.")
    group: str = Field(description="Number prefix group of its tickets.")
    zone: Ident = Field(description="Zone where the bundle is served.")


class Window(Strict):
    id: Ident = Field(description="Window id (its topic level and MQTT username for a soft caller).")
    number: str = Field(min_length=1, max_length=8, description="The number citizens see: `5` in 请到5号窗口.")
    zone: Ident = Field(description="Zone the window stands in (its calls show on that zone's screens).")
    kind: Literal["comprehensive", "specialised"] = Field(
        "comprehensive", description="综窗 (many matters) or 专窗 (a few).")
    attended: bool = Field(True, description="Expected to be staffed in service hours (空岗 alarm if not).")
    serves: dict[Ident, int] = Field(
        min_length=1,
        description="Matter or bundle id → skill weight 1–9; higher is preferred by `next`.")
    authorised: list[Ident] = Field(
        default=[], description="Matters, bundles or whole zones (a zone id: all its matters) beyond `serves` "
                                "that this window's staff may take on when the balancer lends it to a long "
                                "queue (comprehensive windows: 一窗受理).")

    @field_validator("serves")
    @classmethod
    def _weights(cls, v: dict[str, int]) -> dict[str, int]:
        for key, w in v.items():
            if not 1 <= w <= 9:
                raise ValueError(f"weight of {key} must be 1–9, got {w}")
        return v


class PriorityClass(Strict):
    id: Ident = Field(description="Class id: `normal`, `elderly`, `green`…")
    name: Names = Field(description="Shown on the kiosk's priority screen.")
    boost_minutes: float = Field(0, ge=0, le=240,
                                 description="Head start: counts as this many minutes of extra waiting.")
    requires_code: bool = Field(False, description="Needs a valid code (green channel) at the kiosk.")
    codes: list[str] = Field(default=[], description="Valid codes when `requires_code`.")


class PriorityPolicy(Strict):
    """score = minutes waited + class boost + skill_step_minutes × (weight − 1).

    The bonuses are bounded and waiting grows without bound, so every ticket
    ends up on top: that is the ageing that keeps anyone from starving.
    """

    skill_step_minutes: float = Field(5, ge=0, le=60,
                                      description="Minutes of head start per skill weight step above 1.")
    classes: list[PriorityClass] = Field(
        default=[PriorityClass(id="normal", name=Names(zh="普通", en="Normal"))],
        min_length=1, description="Priority classes; one must be `normal`.")
    appointment_class: Ident = Field("normal", description="Class given to an appointment checked in on time.")
    appointment_early_minutes: int = Field(30, ge=0, description="Check-in allowed this early.")
    appointment_late_minutes: int = Field(15, ge=0, description="After this, the appointment is a normal ticket.")

    @model_validator(mode="after")
    def _classes(self) -> "PriorityPolicy":
        ids = [c.id for c in self.classes]
        if "normal" not in ids:
            raise ValueError("classes must include `normal`")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate priority class ids")
        if self.appointment_class not in ids:
            raise ValueError(f"appointment_class {self.appointment_class!r} is not a class")
        return self


class BalanceRules(Strict):
    """When comprehensive windows are lent to other matters' queues (docs/queue-policy.md)."""

    mode: Literal["off", "suggest", "auto"] = Field(
        "suggest", description="off; suggest (publish the moves for a supervisor); auto (apply them).")
    every_s: int = Field(60, ge=10, le=3600, description="How often the balance is judged.")
    busy_minutes: float = Field(10, gt=0, le=600,
                                description="A queue that takes longer than this to clear may borrow a window.")
    idle_minutes: float = Field(3, ge=0, le=600,
                                description="A window whose own queues clear within this may be lent; "
                                            "a loan ends when the queue it helps clears within it.")
    hold_minutes: float = Field(15, ge=0, le=240, description="A loan lasts at least this long (no flapping) "
                                                            "unless the window's own queue needs it back.")
    spare_load: float = Field(0.8, gt=0, le=1,
                              description="A window is lent only while arrivals to its own matters need less "
                                          "than this share of their staffed windows' time.")
    penalty_minutes: float = Field(
        60, ge=0, le=240, description="A lent line counts as waiting this much less at the borrowing window, "
                                      "so the window serves its own citizens first.")
    quiet_before_break_minutes: float = Field(
        45, ge=0, le=240, description="No loans this long before a break (lunch, evening): a visit lent "
                                      "then would keep the window's own citizens waiting through the break.")
    max_lines_per_window: int = Field(2, ge=1, le=20, description="Lines one window may be lent to at once.")

    @model_validator(mode="after")
    def _thresholds(self) -> "BalanceRules":
        if self.idle_minutes >= self.busy_minutes:
            raise ValueError("idle_minutes must be below busy_minutes (hysteresis)")
        return self


class QueueRules(Strict):
    recall_limit: int = Field(2, ge=0, le=10, description="Recalls allowed after the first call.")
    noshow_requeue_minutes: int = Field(30, ge=0, le=480,
                                        description="A no-show may re-queue within this many minutes.")
    board_recent: int = Field(8, ge=1, le=50, description="Recent calls kept on a zone board.")
    issue_only_in_service_hours: bool = Field(
        True, description="Refuse new numbers outside service hours (kiosks show the hours instead).")
    estimate_alpha: float = Field(0.2, gt=0, le=1,
                                  description="Weight of each served ticket in the learned handling time.")
    balance: BalanceRules = Field(default_factory=BalanceRules,
                                  description="Lending comprehensive windows to long queues (忙闲不均).")
