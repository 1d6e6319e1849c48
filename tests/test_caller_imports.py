"""`onewindow caller` starts without the libraries of the other processes.

The engine runs for months on the hall server; every module it imports stays
resident, and the libraries of the report, the web console, the screens and
the device drivers would cost it tens of MB (docs/benchmarks.md, "The
engine's memory").  A subprocess runs the real command — config, data key,
store, a connection to the test broker — and lists ``sys.modules`` once the
engine serves; none of these may be among them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import small_raw, unique_hall_id

# top-level module → who needs it instead (why the engine must not)
HEAVY = {
    "matplotlib": "the report's charts (`onewindow report`)",
    "numpy": "matplotlib, for the report's charts",
    "openpyxl": "the report's XLSX",
    "PIL": "the kiosk's ticket images and the report",
    "starlette": "`onewindow web`",
    "uvicorn": "`onewindow web`",
    "jinja2": "`onewindow web`",
    "httpx": "the SMS gateway driver and the web tests",
    "argon2": "the web console's PIN and password hashes",
    "kivy": "the kiosk and the wall display",
    "escpos": "the kiosk's printer",
    "qrcode": "the kiosk's ticket",
    "serial": "the device bridge and the SMS modem (pyserial)",
    "evdev": "the bridge's and the kiosk's keypads and scanners",
    "pyttsx3": "the announcer",
    "pypinyin": "the kiosk's input method and the announcer",
    "prometheus_client": "`onewindow metrics`",
    "amqtt": "the embedded broker of the demo and the tests",
    "paho": "the engine's paho shell (`--mqtt-client paho`) and the other processes",
    # the other processes' own packages
    "reports": "`onewindow report`", "web": "`onewindow web`", "kiosk": "`onewindow kiosk`",
    "display": "`onewindow display`", "firmware_bridge": "`onewindow bridge`", "sms": "`onewindow sms`",
    "sim": "`onewindow demo`", "deploy": "`onewindow install`", "caseadapter": "`onewindow case-adapter`",
}

# Runs `onewindow caller` as systemd would, but lists its modules once it serves, then stops it.
_PROBE = """
import json, sys
import caller.cli

def serve(svc, what, **kw):
    svc.start(timeout=30)
    try:
        print("MODULES " + json.dumps(sorted(sys.modules)), flush=True)
    finally:
        svc.stop()

caller.cli.serve = serve
from hall.cli import main
main(sys.argv[1:], standalone_mode=False)
"""


def caller_modules(broker, tmp_path) -> set[str]:
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    cfg = tmp_path / "hall.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port),
           "ONEWINDOW_MQTT_PROTOCOL": broker.settings.protocol}
    r = subprocess.run([sys.executable, "-c", _PROBE, "caller", "--config", str(cfg),
                        "--db", str(tmp_path / "caller.sqlite")],
                       env=env, capture_output=True, text=True, timeout=90)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("MODULES ")]
    assert r.returncode == 0 and lines, r.stderr[-3000:]
    return set(json.loads(lines[0].removeprefix("MODULES ")))


def test_the_engine_serves_without_the_other_processes_libraries(broker, tmp_path):
    modules = caller_modules(broker, tmp_path)
    # the engine really served: its core, its store and its MQTT client are loaded
    assert {"caller.service", "caller.store", "gmqtt", "hall.loopbus"} <= modules
    top = {name.partition(".")[0] for name in modules}
    loaded = {name: why for name, why in HEAVY.items() if name in top}
    assert not loaded, f"`onewindow caller` imported what it never needs: {loaded}"
    # pydantic's plugin loader imports it (with email, zipfile, csv: 2.3 MB) only to
    # find no plugin; the engine gives pydantic an empty loader (caller/pydantic_plugins.py),
    # and the config's models were still built and validated the hall file
    assert "pydantic" in top and "hall.config" in modules
    assert "importlib.metadata" not in modules, "pydantic's plugin loader is back (caller/pydantic_plugins.py)"
