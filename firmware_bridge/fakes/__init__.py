"""Fake serial devices on ptys, speaking the real protocols (OctoPrint's virtual printer).

The bridge opens the pty's slave end exactly as it opens a USB RS-485
adapter, so tests and ``onewindow demo`` run the real driver code.  A
:class:`FakeLine` is one bus: a pty behind a stable symlink (like
``/dev/serial/by-id``) with any number of addressed devices, and quirk
switches: dropped bytes, slow replies, garbage between frames, emulated wire
time, a device gone silent, the adapter unplugged and replugged.
"""

from .devices import (FakeEvaluator, FakeKeypad, FakeLedBar, FakeLegacyEvaluator,
                      FakeLegacyKeypad)
from .line import FakeLine, Quirks

__all__ = ["FakeLine", "Quirks", "FakeLedBar", "FakeKeypad", "FakeEvaluator",
           "FakeLegacyKeypad", "FakeLegacyEvaluator"]
