"""Shared fixtures: a real broker for the session, the small test hall, a running engine.

Every test that starts an engine gets its own hall id, so retained state left
on the shared broker by one test can never be read by another.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import yaml

from hall.broker import start_local_broker
from hall.bus import Bus
from hall.config import HallConfig, parse_config
from tests import needs
from tests.needs import pytest_runtest_setup, require_unless_allowed  # noqa: F401 (hooks)

HERE = Path(__file__).parent
_hall_seq = itertools.count(1)


def pytest_configure(config):
    """The ``needs`` mark, and a data key made at test time for every engine of the
    session (and its subprocesses)."""
    import tempfile

    needs.pytest_configure(config)

    from hall.crypto import ENV_FILE, write_key
    if not os.environ.get(ENV_FILE):
        os.environ[ENV_FILE] = str(write_key(Path(tempfile.mkdtemp(prefix="onewindow-key-")) / "data-key"))


def small_raw() -> dict:
    return yaml.safe_load((HERE / "halls" / "small.yaml").read_text(encoding="utf-8"))


def unique_hall_id() -> str:
    return f"t{os.getpid()}x{next(_hall_seq)}"


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """A real mosquitto (embedded amqtt only where mosquitto is missing and
    ONEWINDOW_ALLOW_SKIPS=1 says that is on purpose)."""
    require_unless_allowed(["mosquitto"])
    b = start_local_broker(workdir=tmp_path_factory.mktemp("broker"))
    yield b
    b.stop()


@pytest.fixture
def small_config() -> HallConfig:
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    return parse_config(raw)


@pytest.fixture
def running_engine(broker, tmp_path, small_config):
    """Factory: ``running_engine(config=None, db=None)`` → a started CallerService."""
    from caller.service import CallerService
    started = []

    def start(config: HallConfig | None = None, db: Path | None = None, **kw) -> CallerService:
        cfg = config or small_config
        svc = CallerService(cfg, db or tmp_path / f"engine-{len(started)}.sqlite", broker.settings,
                            client_id=f"caller-{cfg.hall.id}-{len(started)}", **kw)
        svc.start()
        started.append(svc)
        return svc

    yield start
    for svc in started:
        svc.stop()


@pytest.fixture
def bus_client(broker):
    """Factory: ``bus_client(hall_id, client_id, start=True)`` → a Bus, stopped afterwards."""
    started = []

    def make(hall_id: str, client_id: str, start: bool = True, **kw) -> Bus:
        bus = Bus(hall_id, f"{client_id}-{hall_id}", broker.settings, **kw)
        started.append(bus)
        if start:
            bus.start()
        return bus

    yield make
    for bus in started:
        bus.stop()
