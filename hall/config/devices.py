"""Config of the hall's serial and input devices (owned by firmware_bridge/)."""

from __future__ import annotations

from .base import Strict


class DevicesConfig(Strict):
    """Placeholder until the bridge defines its device list."""
