"""Config of wall displays and the voice announcer (owned by display/).

Silent calling (无声叫号) is the default: a zone speaks only when it is listed
under ``voice.zones`` with ``enabled: true``.  Zone ids are checked against the
hall's zones by :meth:`ScreensConfig.zone_problems` (from the root config's cross-checks) and the
announcer starts, because this module cannot see the rest of the config.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Ident, Names, Strict

Lang = Literal["zh-CN", "zh-TW", "en"]


class Screen(Strict):
    """One wall display (an HDMI TV on a Pi), chosen with ``onewindow display --screen ID``."""

    id: Ident = Field(description="Display id; its availability is `display/<id>/availability`.")
    zones: list[Ident] = Field(default=[], description="Zones whose calls it shows; empty = every zone.")
    layout: Literal["landscape", "portrait"] = Field(
        "landscape", description="16:9 (1920×1080) or 9:16 (1080×1920) arrangement of the page.")
    rotation: Literal[0, 90, 180, 270] = Field(
        0, description="Rotate the picture (degrees) for a TV mounted on its side.")
    languages: list[Lang] = Field(
        default=[], description="First is the main language, the second a smaller subtitle line; "
                                "empty = the hall's languages.")
    waiting_by: Literal["group", "zone"] = Field(
        "group", description="Waiting counts per number group (A, B…) or per zone.")
    recent: int = Field(6, ge=0, le=16, description="Earlier calls listed beside the newest ones.")
    current: int = Field(3, ge=1, le=4, description="Calls shown large at once: the newest (or the one "
                                                    "flashing) and the ones before it under it.")
    style: Literal["calls", "windows"] = Field(
        "calls", description="`calls`: the newest calls, earlier calls and waiting counts; `windows`: a "
                             "grid of every window of its zones with its current number and status.")
    diagonal_inches: float = Field(55, ge=10, le=150, description="Screen diagonal: text is sized in "
                                                                  "millimetres from it.")
    viewing_distance_m: float = Field(
        5, ge=1, le=30, description="Farthest seat that must read every element; cap height is at least "
                                    "5 mm per metre of it (docs/display.md).")
    progress_page: bool = Field(True, description="Rotate the progress board (办事进度公示) in when idle.")
    notice: Names | None = Field(None, description="Notice line; default `screens.notice`.")
    notice_scroll: bool = Field(
        False, description="Scroll the notice as a marquee instead of showing one language at a "
                           "time, 8 s each (a marquee redraws the screen 30 times a second).")
    fullscreen: bool = Field(True, description="Full screen without decorations or cursor (kiosk).")


class ZoneVoice(Strict):
    enabled: bool = Field(True, description="Speak the calls of this zone.")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="Loudness of chime and speech, 0–1.")
    languages: list[Lang] = Field(default=["zh-CN"], min_length=1,
                                  description="Spoken one after the other for each call.")


class VoiceConfig(Strict):
    synth: Literal["pyttsx3", "espeak-ng", "fake"] = Field(
        "pyttsx3", description="Speech engine: pyttsx3 over libespeak-ng, the espeak-ng program, "
                               "or a silent fake for tests.")
    player: Literal["aplay", "paplay", "none"] = Field(
        "aplay", description="How a rendered WAV is played; `none` only keeps the files.")
    chime: bool = Field(True, description="A two-tone chime before each call.")
    max_age_seconds: float = Field(
        30, gt=0, le=600, description="A call older than this when its turn comes is dropped, "
                                      "never spoken late.")
    rate: int = Field(150, ge=80, le=300, description="Speaking rate, words per minute.")
    clips_dir: str | None = Field(
        None, description="Folder of recorded WAV prompts (请, digits, letters, 号到, 号窗口…): Mandarin calls "
                          "are joined from them when every prompt is there, else spoken by `synth`. "
                          "`onewindow voice-clips --out DIR` makes a default set with espeak-ng.")
    repeat: int = Field(1, ge=1, le=3, description="Times each call is spoken (chime once).")
    zones: dict[Ident, ZoneVoice] = Field(
        default={}, description="Zone id → voice settings; zones not listed stay silent.")


class ScreensConfig(Strict):
    flash_seconds: float = Field(8, ge=0, le=60, description="How long the newest call flashes.")
    flash_min_seconds: float = Field(
        2, ge=0.5, le=30, description="Each call flashes at least this long when others queue behind it "
                                      "(calls in a burst flash one after the other, none skipped).")
    stale_seconds: float = Field(
        20, ge=1, le=600, description="A call event older than this when it arrives never flashes "
                                      "(after a reconnect, or a clock far off).")
    idle_seconds: float = Field(60, ge=5, le=3600,
                                description="Without a call this long, the progress page rotates in.")
    page_seconds: float = Field(15, ge=3, le=300,
                                description="How long each page shows while rotating.")
    progress_rows: int = Field(8, ge=3, le=20, description="Cases per progress page.")
    notice: Names | None = Field(None, description="Default notice line (bottom of every screen).")
    displays: list[Screen] = Field(default=[], description="The hall's wall displays.")
    voice: VoiceConfig = Field(default_factory=VoiceConfig,
                               description="The announcer: which zones speak, how loud, in which languages.")

    @model_validator(mode="after")
    def _unique(self) -> "ScreensConfig":
        ids = [d.id for d in self.displays]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"displays: duplicate id {dupes}")
        return self

    def screen(self, sid: str) -> Screen | None:
        return next((d for d in self.displays if d.id == sid), None)

    def zone_problems(self, zone_ids: set[str]) -> list[tuple[str, str]]:
        """Displays or voice settings naming a zone the hall does not have, as (path, reason)."""
        problems: list[tuple[str, str]] = []
        for i, d in enumerate(self.displays):
            for z in d.zones:
                if z not in zone_ids:
                    problems.append((f"screens.displays[{i}].zones", f"unknown zone {z!r}"))
        for z in self.voice.zones:
            if z not in zone_ids:
                problems.append((f"screens.voice.zones.{z}", "unknown zone"))
        return problems
