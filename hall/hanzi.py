"""Traditional Chinese from Simplified, for names the config gives only in zh.

OpenCC's ``s2tw`` profile: character conversion with Taiwan's standard glyph
variants, but no phrase rewriting.  The phrase profile (``s2twp``) turns
窗口 into 視窗 (a computer window), which is wrong on a service-hall screen.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("s2tw")


@lru_cache(maxsize=4096)
def to_traditional(text: str) -> str:
    return _converter().convert(text)
