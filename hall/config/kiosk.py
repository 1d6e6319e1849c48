"""Config of kiosks (owned by kiosk/): guidance, materials, printers, scanners, screens.

Self-contained on purpose: matter and bundle ids used here are checked against
the root config by ``hall.guide.check_guides`` when a kiosk loads the file,
so this module needs nothing from the queue schema.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Ident, Names, Strict


class Option(Strict):
    id: Ident = Field(description="Answer id, referred to by `materials[].when`.")
    text: Names = Field(description="The answer as shown on its button.")


class Question(Strict):
    """One situation question of 一次咨询引导."""

    id: Ident = Field(description="Question id, unique within a guide (shared ids merge in bundles).")
    text: Names = Field(description="The question as asked on the matter page.")
    options: list[Option] = Field(min_length=2, description="Possible answers; the first is preselected.")


class Material(Strict):
    id: Ident = Field(description="Material id; a bundle lists a material once even if several matters need it.")
    name: Names = Field(description="What to bring, e.g. 身份证原件.")
    note: Names | None = Field(None, description="How many / original or copy, printed after the name.")
    when: dict[Ident, list[Ident]] = Field(
        default={}, description="Needed only if every listed question has one of the listed answers "
                                "(question id → answer ids); empty = always needed.")


class Guide(Strict):
    """What a matter or bundle is, its questions and the materials they decide."""

    target: Ident = Field(description="Matter or bundle id (checked against the hall config at load).")
    intro: Names | None = Field(None, description="One or two sentences: what the matter is.")
    questions: list[Question] = Field(default=[], description="Situation questions, asked in this order.")
    materials: list[Material] = Field(default=[], description="Candidate materials; `when` filters them.")

    @model_validator(mode="after")
    def _refs(self) -> "Guide":
        qs = {q.id: {o.id for o in q.options} for q in self.questions}
        if len(qs) != len(self.questions):
            raise ValueError("duplicate question ids")
        if len({m.id for m in self.materials}) != len(self.materials):
            raise ValueError("duplicate material ids")
        for m in self.materials:
            for q, answers in m.when.items():
                if q not in qs:
                    raise ValueError(f"material {m.id}: unknown question {q!r}")
                bad = set(answers) - qs[q]
                if bad:
                    raise ValueError(f"material {m.id}: question {q} has no answer {sorted(bad)}")
        return self


class PrinterConfig(Strict):
    type: Literal["serial", "network", "fake", "none"] = Field(
        "fake", description="`serial` (USB-serial or RS-232 thermal printer), `network` (raw TCP 9100), "
                            "`fake` (the built-in fake printer on a pty, for demos), `none` (no printer).")
    id: Ident | None = Field(
        None, description="Device id of `device/<id>/status` and `/availability`; defaults to the kiosk's id. "
                          "The generated broker ACL lets the kiosk publish these two topics of it.")
    device: str | None = Field(None, description="Serial device (`/dev/serial/by-id/…`) or `host:port`.")
    baudrate: int = Field(115200, description="Serial speed.")
    profile: str = Field("TM-T20II", description="python-escpos capability profile (paper width, native QR).")
    qr: Literal["auto", "native", "image"] = Field(
        "auto", description="QR as `GS ( k` (~230 bytes) or as a raster image (~5–9 KB); `auto` = native "
                            "when the profile supports it.")
    number_scale: int = Field(4, ge=1, le=8, description="Character magnification of the big number.")
    status_timeout_s: float = Field(0.5, gt=0, le=5, description="Wait for a status reply (DLE EOT).")
    print_when_unknown: bool = Field(
        False, description="Print even if the printer did not answer the status query (printers without "
                           "a back channel); otherwise silence counts as a failed print.")
    poll_s: float = Field(30, ge=1, description="Status poll period; each result is published as device status.")
    fake_paper: Literal["ok", "near_end", "out", "silent", "offline"] = Field(
        "ok", description="Only for `type: fake`: what the fake printer reports.")


class ScannerConfig(Strict):
    type: Literal["evdev", "none"] = Field("evdev", description="Keyboard-mode QR / ID reader via evdev.")
    device: str = Field(description="`/dev/input/by-id/…` path of the reader.")
    grab: bool = Field(True, description="Grab the device so the UI does not see its keystrokes too.")


class KioskTimeouts(Strict):
    idle_s: float = Field(60, ge=5, le=600, description="No touch for this long → back to home.")
    ticket_s: float = Field(30, ge=5, le=600, description="The ticket screen goes home after this.")
    request_s: float = Field(3, gt=0, le=30, description="Wait for one engine reply before retrying.")
    retries: int = Field(2, ge=0, le=5, description="Retries with the same request id (never a second ticket).")


class ScreenConfig(Strict):
    width: int = Field(1080, ge=320, description="Screen width in pixels (portrait kiosks are 1080).")
    height: int = Field(1920, ge=320, description="Screen height in pixels.")
    dpi: float = Field(102, gt=20, le=600, description="Pixels per inch of the panel (21.5\" 1080p ≈ 102); "
                                                       "touch targets are sized in millimetres from it.")
    touch_mm: float = Field(15, ge=9, le=40, description="Smallest touch target, millimetres.")
    font: str | None = Field(None, description="CJK font file (one face); empty = Noto Sans CJK SC taken "
                                               "from Debian's fonts-noto-cjk (`onewindow fonts`).")
    elderly_scale: float = Field(1.6, ge=1.6, le=2, description="Type and button scale in elderly mode "
                                                                  "(at least 1.6× for older eyes).")


class KioskDevice(Strict):
    id: Ident = Field(description="Kiosk id: `kiosk/<id>/…` topics.")
    name: Names | None = Field(None, description="Where it stands, e.g. 一楼大厅入口.")
    printer: PrinterConfig = Field(default_factory=PrinterConfig, description="The ticket printer.")
    scanners: list[ScannerConfig] = Field(default=[], description="QR / ID-card readers.")


class KiosksConfig(Strict):
    devices: list[KioskDevice] = Field(default=[], description="The hall's kiosks.")
    guides: list[Guide] = Field(default=[], description="一次咨询引导 per matter or bundle.")
    priority_offer: list[Ident] = Field(
        default=[], description="Priority classes offered as buttons (ids of `priority.classes`); "
                                "empty = every class except `normal` and the appointment class.")
    phone: bool = Field(True, description="Offer the phone keypad for SMS reminders.")
    identity: bool = Field(True, description="Offer scanning an ID card / QR code before taking a number.")
    default_lang: Literal["zh-CN", "zh-TW", "en"] = Field("zh-CN", description="Language after a timeout.")
    timeouts: KioskTimeouts = Field(default_factory=KioskTimeouts,
                                    description="Screen timeouts and engine request retries.")
    screen: ScreenConfig = Field(default_factory=ScreenConfig,
                                 description="The touch panel: size, dpi, touch target, font.")

    @model_validator(mode="after")
    def _unique(self) -> "KiosksConfig":
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate kiosk ids")
        targets = [g.target for g in self.guides]
        if len(set(targets)) != len(targets):
            raise ValueError("two guides for the same matter or bundle")
        return self

    def device(self, kid: str) -> KioskDevice | None:
        return next((d for d in self.devices if d.id == kid), None)

    def guide(self, target: str) -> Guide | None:
        return next((g for g in self.guides if g.target == target), None)
