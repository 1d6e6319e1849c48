"""Golden files under tests/golden/: the tests only read them; one command writes them.

A missing or different golden file fails its test.  After an intended change
to a codec or a layout, regenerate them all and review the diff before
committing it:

    make goldens            # = .venv/bin/python -m tests.goldens

Each test module keeps the function that renders its cases (``owb_cases``,
``led_cases``, …); :func:`regenerate` calls the same functions, so the file is
exactly what the test compares against.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "make goldens"


def _path(rel: str) -> Path:
    path = GOLDEN / rel
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: regenerate with `{REGENERATE}` and review the diff")
    return path


def read_jsonl(rel: str) -> list[dict]:
    return [json.loads(x) for x in _path(rel).read_text(encoding="utf-8").splitlines() if x.strip()]


def read_bytes(rel: str) -> bytes:
    return _path(rel).read_bytes()


def read_text(rel: str) -> str:
    return _path(rel).read_text(encoding="utf-8")


def _files() -> dict[str, bytes]:
    """Every golden file's path (below tests/golden/) → its content, rendered by the tests' own functions."""
    from tests import test_bridge_config, test_bridge_frames, test_kiosk_print, test_sms_pdu

    def jsonl(rows: list[dict]) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")

    out = {
        "bridge/owb_frames.jsonl": jsonl(test_bridge_frames.owb_cases()),
        "bridge/legacy68_frames.jsonl": jsonl(test_bridge_frames.legacy_cases()),
        "bridge/led_frames.jsonl": jsonl(test_bridge_config.led_cases()),
        "sms/pdus.jsonl": jsonl(test_sms_pdu.render_cases()),
    }
    for name in sorted(test_kiosk_print.CASES):
        data, dump = test_kiosk_print.render_case(name)
        out[f"kiosk/{name}.bin"] = data
        out[f"kiosk/{name}.txt"] = dump.encode("utf-8")
    return out


def regenerate() -> list[str]:
    """Write every golden file; returns the ones whose content changed."""
    changed = []
    for rel, data in _files().items():
        path = GOLDEN / rel
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(rel)
    return changed


if __name__ == "__main__":
    changed = regenerate()
    for rel in changed:
        print(f"wrote tests/golden/{rel}")
    print(f"{len(changed)} golden file(s) changed; review them with `git diff tests/golden`" if changed
          else "golden files already up to date")
    sys.exit(0)
