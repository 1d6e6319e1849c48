"""Find matters and bundles by name or by pinyin initials (拼音首字母), e.g. `gjj` → 公积金….

The index is built once per config.  Pinyin comes from pypinyin rather than a
hand table: 400–900 matter names hold many rare and polyphonic characters
(重 in 重新, 行 in 银行), which its phrase dictionary reads right.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass

from hall.config import HallConfig


@dataclass(frozen=True)
class Entry:
    target: str          # matter or bundle id
    is_bundle: bool
    zh: str
    initials: str        # lower-case, letters only: 公积金提取 → gjjtq
    full: str            # lower-case pinyin without spaces: gongjijintiqu
    en: str              # lower-case


def _pinyin(text: str) -> tuple[str, str]:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise RuntimeError("matter search needs pypinyin (pip install pypinyin)") from e
    initials = "".join(p[0] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
                       if p and p[0].isascii() and p[0].isalpha()).lower()
    full = "".join(p for p in lazy_pinyin(text, errors="ignore") if p.isascii() and p.isalpha()).lower()
    return initials, full


def _pinyin_all(texts: list[str]) -> list[tuple[str, str]]:
    """:func:`_pinyin` of each text, without keeping pypinyin.

    Its phrase dictionaries (what reads 重新 and 银行 right) take ~55 MB once
    imported, and the index needs them once per config; the kiosk and the web
    terminal would carry them for the rest of their run.  A process that did
    not have pypinyin before drops it again (~45 MB back; the next config's
    index imports it again, ~0.5 s here)."""
    had = "pypinyin" in sys.modules
    try:
        return [_pinyin(t) for t in texts]
    finally:
        if not had:
            for name in [k for k in sys.modules if k == "pypinyin" or k.startswith("pypinyin.")]:
                del sys.modules[name]
            gc.collect()  # its modules refer to each other


class SearchIndex:
    def __init__(self, cfg: HallConfig):
        targets = [(b, True) for b in cfg.bundles] + [(m, False) for m in cfg.matters]
        readings = _pinyin_all([t.name.zh for t, _ in targets])
        self.entries = [Entry(t.id, is_bundle, t.name.zh, ini, full, t.name.en.lower())
                        for (t, is_bundle), (ini, full) in zip(targets, readings)]

    def search(self, query: str, limit: int = 50) -> list[Entry]:
        """Initials prefix first, then initials anywhere, full pinyin, English, Chinese."""
        q = query.strip().lower()
        if not q:
            return []
        scored: list[tuple[int, int, Entry]] = []
        for i, e in enumerate(self.entries):
            if q.isascii():
                if e.initials.startswith(q):
                    rank = 0
                elif q in e.initials:
                    rank = 1
                elif q in e.full:
                    rank = 2
                elif q in e.en:
                    rank = 3
                else:
                    continue
            elif q in e.zh:
                rank = 0 if e.zh.startswith(q) else 1
            else:
                continue
            scored.append((rank, i, e))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [e for _, _, e in scored[:limit]]
