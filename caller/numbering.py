"""Unified numbering (统一编号): prefix per group + daily sequence.

The sequence lives in the engine's memory and in the ``counters`` table; a
number is handed out only in a reply sent after the counter's commit, so a
crash can lose an unacknowledged number but never show one twice.  The day is
the hall's local date, so the reset happens at local midnight.
"""

from __future__ import annotations


class Numbering:
    def __init__(self, digits: dict[str, int]):
        self._digits = digits  # prefix -> digits of the sequence
        self._formats: dict[str, str] = {}  # prefix -> "A%03d"
        self._seq: dict[tuple[str, str], int] = {}

    def load(self, day: str, prefix: str, seq: int) -> None:
        key = (day, prefix)
        self._seq[key] = max(self._seq.get(key, 0), seq)

    def last(self, day: str, prefix: str) -> int:
        return self._seq.get((day, prefix), 0)

    def next(self, day: str, prefix: str) -> tuple[int, str]:
        """Take the next number of ``prefix`` on ``day``: (seq, "A023").

        Past the digits' range the number simply grows a digit (A999 → A1000)
        rather than wrap around and repeat.
        """
        key = (day, prefix)
        seq = self._seq[key] + 1 if key in self._seq else 1
        self._seq[key] = seq
        fmt = self._formats.get(prefix)
        if fmt is None:
            fmt = self._formats[prefix] = f"{prefix}%0{self._digits.get(prefix, 3)}d"
        return seq, fmt % seq

    def rewind(self, day: str, prefix: str, seq: int) -> None:
        """Take back numbers handed out by a command that was undone (never
        sent, never stored: issuing them again repeats nothing)."""
        self._seq[(day, prefix)] = seq

    def forget_before(self, day: str) -> None:
        for key in [k for k in self._seq if k[0] < day]:
            del self._seq[key]

    def set_digits(self, digits: dict[str, int]) -> None:
        self._digits = digits
        self._formats = {}
