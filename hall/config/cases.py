"""Cases and their supervision (电子监察): docs/cases.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Ident, Strict


class CaseSystem(Strict):
    id: Ident = Field(description="The outside case system's (审批系统) MQTT username; it opens cases and "
                                  "reports their steps on `device/<id>/request/case_open|case_step|case_extend` "
                                  "(`onewindow case-adapter --id`).")
    name: str = Field("", max_length=40, description="What the hall calls it (审批系统, 不动产登记系统…); "
                                                     "for people reading logs and the config.")
    adapter: Literal["csv", "none"] = Field(
        "csv", description="How it reaches the engine: `csv` — it drops CSV files into the hall server's inbox "
                           "and `onewindow case-adapter` sends them (`onewindow install server` enables that "
                           "unit with this id's broker login); `none` — it speaks the MQTT ops itself.")


class CasesConfig(Strict):
    warn_days: int = Field(2, ge=0, le=60,
                           description="Yellow warning this many working days before a case's deadline; "
                                       "red once it has passed.")
    board_size: int = Field(60, ge=1, le=500,
                            description="Cases on the public progress board (办事进度公示): the latest updated.")
    query_failures: int = Field(5, ge=1, le=100,
                                description="Wrong case look-ups a kiosk may make in `query_window_s` "
                                            "before it is refused for a while (no guessing).")
    query_window_s: int = Field(600, ge=10, le=86400, description="The window of `query_failures`.")
    systems: list[CaseSystem] = Field(default=[], description="Outside case systems (审批系统) that open cases "
                                                          "and report steps through their own credential.")
