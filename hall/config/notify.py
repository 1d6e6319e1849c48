"""Config of evaluation (好差评) and SMS reminders."""

from __future__ import annotations

from .base import Strict


class NotifyConfig(Strict):
    """Placeholder until ratings and SMS are defined."""
