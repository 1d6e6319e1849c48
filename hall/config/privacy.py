"""How long the engine keeps citizens' personal data (个人信息保护法)."""

from __future__ import annotations

from pydantic import Field

from .base import Strict


class PrivacyConfig(Strict):
    retention_days: int = Field(
        0, ge=0, le=366,
        description="Days the phones and form data of a day's tickets, SMS and appointments are kept after "
                    "that day closes; 0: deleted when the day closes (the engine's midnight roll, or its "
                    "next start). The tickets themselves stay, without them, for the statistics.")
