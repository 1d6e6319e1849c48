"""A month of the small hall's history, made once per test run (seeded): the
engine database the report tests and the console's report pages read."""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from caller.store import Store
from hall.config import parse_config
from sim.hallday import load_scenario
from sim.hallmonth import HallHistory

from .conftest import small_raw

_made: dict[int, tuple[Path, list[str]]] = {}


def november(seed: int = 11) -> tuple[Path, list[str]]:
    """(the engine database with November 2026's aggregates, the days the hall was open)."""
    if seed not in _made:
        d = Path(tempfile.mkdtemp(prefix="ow-history-"))
        atexit.register(shutil.rmtree, d, True)
        store = Store(d / "caller.sqlite")
        days = HallHistory(parse_config(small_raw()), load_scenario("normal"), store, seed=seed).run(
            dt.date(2026, 11, 1), 30)
        store.close()
        _made[seed] = (d / "caller.sqlite", days)
    return _made[seed]
