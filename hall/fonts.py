"""The CJK typeface of every screen: Noto Sans CJK SC, Regular and Bold.

Debian's ``fonts-noto-cjk`` ships each weight as one collection (.ttc) of
ten faces whose first is the *Japanese* one (JP, KR, SC, TC, HK, then the
Mono faces).  Kivy's SDL2 text provider and Pillow without an index open
face 0, so a Chinese screen would draw Japanese glyph shapes (门, 说, 骨
differ) and Japanese punctuation metrics.  We pick the face named "Noto Sans
CJK SC" out of the collection by its name, not by position, and save it as a
single-face OpenType file once (``onewindow fonts``, run by bootstrap; or
on first use), so every renderer gets exactly that face.

WenQuanYi Zen Hei, the previous font, has no bold and sets full-width
punctuation (，。：) with a gap after the half-width advance; Noto's SC face
has a real Bold and centred/left-set full-width marks per the Chinese
convention (GB/T 15834).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
FAMILY = "Noto Sans CJK SC"
WEIGHTS = ("Regular", "Bold")
APT_HINT = "apt-get install fonts-noto-cjk"


class FontMissing(RuntimeError):
    pass


def font_dir() -> Path:
    """Where the extracted faces live: ``$ONEWINDOW_FONT_DIR``, else the user cache."""
    env = os.environ.get("ONEWINDOW_FONT_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "onewindow" / "fonts"


def collection(weight: str) -> Path:
    return NOTO_DIR / f"NotoSansCJK-{weight}.ttc"


def face_index(ttc: Path, family: str = FAMILY) -> int:
    """Index of ``family`` inside the collection ``ttc`` (by its name table, id 1)."""
    from fontTools.ttLib import TTCollection

    coll = TTCollection(str(ttc), lazy=True)
    try:
        for i, font in enumerate(coll.fonts):
            if font["name"].getDebugName(1) == family:
                return i
    finally:
        coll.close()
    raise FontMissing(f"{ttc} has no face {family!r}")


def cjk_font(weight: str = "Regular") -> Path:
    """The single-face file of Noto Sans CJK SC in ``weight``, extracted on first use."""
    if weight not in WEIGHTS:
        raise ValueError(f"weight {weight!r}: one of {WEIGHTS}")
    out = font_dir() / f"NotoSansCJKsc-{weight}.otf"
    if out.exists():
        return out
    src = collection(weight)
    if not src.exists():
        raise FontMissing(f"{src} is missing ({APT_HINT})")
    from fontTools.ttLib import TTFont

    font = TTFont(str(src), fontNumber=face_index(src))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    font.save(str(tmp))
    font.close()
    os.replace(tmp, out)  # whole or not at all: a half-written font would crash SDL_ttf
    return out


def register_kivy(name: str) -> Path:
    """Register both weights under ``name`` for Kivy (``bold=True`` picks the Bold face)."""
    from kivy.core.text import LabelBase

    regular = os.environ.get("ONEWINDOW_CJK_FONT") or str(cjk_font("Regular"))
    bold = str(cjk_font("Bold")) if not os.environ.get("ONEWINDOW_CJK_FONT") else regular
    LabelBase.register(name=name, fn_regular=regular, fn_bold=bold)
    return Path(regular)


@click.command(name="fonts")
def cmd() -> None:
    """Extract Noto Sans CJK SC (Regular, Bold) from fonts-noto-cjk for the screens."""
    try:
        for w in WEIGHTS:
            click.echo(cjk_font(w))
    except FontMissing as e:
        raise click.ClickException(str(e)) from None
