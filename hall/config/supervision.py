"""电子监察 on the floor: when the engine raises long-wait, long-queue, 空岗 and 忙闲不均
alerts (caller/supervision.py, docs/admin.md). Cases past their deadline and bad
reviews have their own alerts (`cases:`, `notify.evaluation`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import Strict

AlertKind = Literal["long_wait", "long_queue", "paused", "idle", "imbalance"]


class SupervisionConfig(Strict):
    long_wait_minutes: float = Field(
        40, gt=0, le=600, description="A matter's oldest waiting ticket has waited this long: 等候超时.")
    long_queue: int = Field(25, ge=1, le=10000, description="This many tickets wait for one matter: 排队过长.")
    paused_minutes: float = Field(20, gt=0, le=600, description="A window paused this long: 暂停超时 (空岗).")
    idle_minutes: float = Field(
        5, gt=0, le=600, description="A window open and calling nobody this long while tickets it may serve "
                                     "wait: 有人无服务 (空岗).")
    imbalance: float = Field(
        3.0, gt=1, le=100, description="The imbalance index (longest ÷ mean clearing time of the queues, "
                                       "`stats/hall/balance`) at which 忙闲不均 is raised, with the balancer's "
                                       "suggestion of which windows to switch.")
    clear_ratio: float = Field(
        0.8, gt=0, lt=1, description="Hysteresis: a measured alert clears only once its figure is back under "
                                     "this share of its threshold (a queue of 25 raises, 19 clears), so it "
                                     "does not flap around the line.")
    hold_s: float = Field(60, ge=0, le=3600, description="An alert stays raised at least this long.")
    sms_to: list[str] = Field(
        default=[], max_length=5,
        description="The supervision office's mobile numbers: each raised alert of `sms_kinds` is also sent "
                    "there by SMS (through `notify.sms`, which must be enabled). Set in the hall server's own "
                    "file only: a config push may not change it, and it is never published.")
    sms_kinds: list[AlertKind] = Field(default=["long_wait", "paused", "idle", "imbalance"],
                                       description="Which alerts go to `sms_to`.")

    @field_validator("sms_to")
    @classmethod
    def _phones(cls, v: list[str]) -> list[str]:
        for x in v:
            if not re.fullmatch(r"\+?[0-9]{5,15}", x):
                raise ValueError("a phone number is 5–15 digits, optionally after +")
        return v

    @model_validator(mode="after")
    def _sane(self) -> "SupervisionConfig":
        if self.imbalance * self.clear_ratio <= 1:
            raise ValueError("imbalance × clear_ratio must stay above 1 (an even hall has index 1)")
        return self
