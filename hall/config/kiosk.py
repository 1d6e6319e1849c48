"""Config of kiosks: guidance questions, materials, printers (owned by kiosk/)."""

from __future__ import annotations

from .base import Strict


class KiosksConfig(Strict):
    """Placeholder until kiosk/ defines its screens."""
