"""Colours and the CJK font of the wall screens (no widgets here).

The palette is light text on dark blue: a TV in a bright hall is read best
with bright glyphs on a dark field, and the amber of the newest number is the
one colour that means "you".
"""

from __future__ import annotations

FONT_NAME = "onewindow-cjk"

# colours (r, g, b, a)
BG = (0.04, 0.12, 0.24, 1)
HEADER_BG = (0.05, 0.18, 0.36, 1)
HERO_BG = (0.06, 0.20, 0.40, 1)
FLASH_BG = (0.80, 0.10, 0.10, 1)
ROW_BG = ((0.06, 0.17, 0.32, 1), (0.08, 0.21, 0.38, 1))
FOOTER_BG = (0.02, 0.08, 0.17, 1)
WHITE = (1, 1, 1, 1)
AMBER = (1.0, 0.84, 0.31, 1)
SOFT = (0.62, 0.77, 1.0, 1)
GREEN = (0.49, 0.99, 0.60, 1)
RED_SOFT = (1.0, 0.54, 0.50, 1)
GREY = (0.70, 0.74, 0.80, 1)
STATUS_COLOURS = {"received": SOFT, "processing": AMBER, "done": GREY, "ready": GREEN}


def register_font() -> str:
    """Noto Sans CJK SC, both weights, as ``FONT_NAME`` (hall/fonts.py says why SC explicitly)."""
    from hall.fonts import register_kivy

    return str(register_kivy(FONT_NAME))


def hexc(c) -> str:
    return "".join(f"{int(v * 255):02x}" for v in c[:3])

