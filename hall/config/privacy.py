"""How long the engine keeps citizens' personal data (个人信息保护法).

Every retention period lives here, in one section, so that the hall's data
protection officer reads (and docs/security.md states) one place; until config
version 2 the forms' two periods sat in ``forms:``.
"""

from __future__ import annotations

from pydantic import Field

from .base import Strict


class PrivacyConfig(Strict):
    retention_days: int = Field(
        0, ge=0, le=366,
        description="Days the phones and form data of a day's tickets, SMS and appointments are kept after "
                    "that day closes; 0: deleted when the day closes (the engine's midnight roll, or its "
                    "next start). The tickets themselves stay, without them, for the statistics.")
    profile_retention_days: int = Field(
        365, ge=1, le=3650, description="A kept profile (自助填表, with the citizen's consent) is erased this many "
                                        "days after it was last used.")
    form_retention_days: int = Field(
        30, ge=1, le=3650, description="A ticket's filled form is erased this many days after the visit "
                                       "(the accepted application lives on in the approval system).")
