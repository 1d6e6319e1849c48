"""The daily aggregates, read-only, and the periods reports group them by.

Readers open the engine's database with SQLite's ``mode=ro`` and read only
the ``day_stats`` table: never a ticket, never a column with personal data.
A WAL database can be read this way while the engine writes it (SQLite ≥
3.22 reads a read-only ``-shm``); the web service's unit sees the engine's
directory read-only anyway (ProtectSystem=strict).
"""

from __future__ import annotations

import calendar
import datetime as dt
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from hall.daystats import DayStat, decode, merge

GROUPS = ("day", "week", "month")


class HistoryError(RuntimeError):
    pass


def month_span(month: str) -> tuple[dt.date, dt.date]:
    """'2026-11' → (first day, last day)."""
    try:
        y, mo = (int(x) for x in month.split("-"))
        first = dt.date(y, mo, 1)
    except ValueError:
        raise HistoryError(f"month {month!r}: write it as YYYY-MM") from None
    return first, dt.date(y, mo, calendar.monthrange(y, mo)[1])


def period_of(day: str, group: str) -> str:
    """The label of the day's period: the day itself, its ISO week (2026-W48) or its month."""
    if group == "day":
        return day
    d = dt.date.fromisoformat(day)
    if group == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if group == "month":
        return day[:7]
    raise HistoryError(f"group {group!r}: one of {', '.join(GROUPS)}")


class History:
    """``rows(first, last, scopes)``: the stored DayStats of those days."""

    def __init__(self, db_path: str | Path):
        self.path = Path(db_path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> "History":
        if not self.path.exists():
            raise HistoryError(f"{self.path}: no such database (the engine's --db)")
        self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            self._db.execute("SELECT 1 FROM day_stats LIMIT 1")
        except sqlite3.OperationalError as e:
            raise HistoryError(f"{self.path}: no daily aggregates ({e}); run the newer engine once") from None
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def rows(self, first: dt.date, last: dt.date, scopes: Iterable[str] | None = None) -> list[DayStat]:
        assert self._db is not None, "history not open"
        q = "SELECT data FROM day_stats WHERE day BETWEEN ? AND ?"
        args: list = [first.isoformat(), last.isoformat()]
        if scopes is not None:
            sc = list(scopes)
            q += f" AND scope IN ({','.join('?' * len(sc))})"
            args += sc
        return [decode(r[0]) for r in self._db.execute(q + " ORDER BY day, scope, key", args)]

    def days(self) -> tuple[str, str] | None:
        """The first and last day with aggregates."""
        assert self._db is not None, "history not open"
        row = self._db.execute("SELECT min(day), max(day) FROM day_stats").fetchone()
        return (row[0], row[1]) if row and row[0] else None


def group(rows: Iterable[DayStat], by: str) -> dict[tuple[str, str, str], DayStat]:
    """(period, scope, key) → the merged record of that period."""
    buckets: dict[tuple[str, str, str], list[DayStat]] = defaultdict(list)
    for r in rows:
        buckets[(period_of(r.day, by), r.scope, r.key)].append(r)
    # by day each bucket holds one record: it is its own total (merging thousands of
    # single records was most of a month's build)
    return {k: v[0] if len(v) == 1 and v[0].day == k[0] else merge(v, day=k[0], scope=k[1], key=k[2])
            for k, v in buckets.items()}
