"""Chinese text by pinyin on the kiosk's touch keyboard: the candidate bar.

The candidates come from Pinyin2Hanzi (PyPI ``Pinyin2Hanzi``), an input-method
engine that ships its own phrase and character frequencies, so a kiosk needs
no network and no word list of ours.  Its data takes a few seconds to load on
a Pi-class CPU: :func:`warm_up` loads it in the background when the kiosk
starts, and :func:`candidates` waits for it only if a citizen types before.

Typed letters are split into syllables (``wensanlu`` → ``wen san lu``) by the
longest syllable that leaves a splittable rest; a trailing partial syllable
(``zhangs``) is completed by the candidates of what splits.
"""

from __future__ import annotations

import threading
from functools import lru_cache

_lock = threading.Lock()
_params = None


def _engine():
    global _params
    with _lock:
        if _params is None:
            try:
                from Pinyin2Hanzi import DefaultDagParams
            except ImportError as e:  # pragma: no cover - a packaging error
                raise RuntimeError("the pinyin input needs the Pinyin2Hanzi package "
                                   "(pip install Pinyin2Hanzi)") from e
            _params = DefaultDagParams()
    return _params


def warm_up() -> threading.Thread:
    """Load the candidate data in the background (kiosk start-up)."""
    th = threading.Thread(target=_engine, name="ime-load", daemon=True)
    th.start()
    return th


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    from Pinyin2Hanzi import all_pinyin
    return frozenset(all_pinyin())


@lru_cache(maxsize=512)
def split(letters: str) -> tuple[str, ...] | None:
    """Whole syllables for ``letters``, longest first; None when they do not split."""
    letters = letters.lower()
    if not letters:
        return ()
    known = _syllables()
    for n in range(min(6, len(letters)), 0, -1):
        head = letters[:n]
        if head in known:
            rest = split(letters[n:])
            if rest is not None:
                return (head, *rest)
    return None


def _splittable_prefix(letters: str) -> tuple[str, ...]:
    for end in range(len(letters), 0, -1):
        parts = split(letters[:end])
        if parts:
            return parts
    return ()


def candidates(letters: str, n: int = 24) -> list[str]:
    """Up to ``n`` candidates for typed pinyin: phrases for the whole input
    first, then single characters of its first syllable."""
    parts = split(letters) or _splittable_prefix(letters)
    if not parts:
        return []
    from Pinyin2Hanzi import dag
    params = _engine()
    out: list[str] = []
    for item in dag(params, list(parts), path_num=n):
        word = "".join(item.path)
        if word not in out:
            out.append(word)
    if len(parts) > 1:
        for item in dag(params, [parts[0]], path_num=n):
            word = "".join(item.path)
            if word not in out:
                out.append(word)
    return out[:n]
