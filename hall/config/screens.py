"""Config of wall displays and the voice announcer (owned by display/)."""

from __future__ import annotations

from .base import Strict


class ScreensConfig(Strict):
    """Placeholder until display/ defines its layouts."""
