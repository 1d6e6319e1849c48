"""A missing golden file fails its test (it is written only by `make goldens`)."""

from __future__ import annotations

import pytest

from tests import goldens


def test_a_missing_golden_file_fails_and_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(goldens, "GOLDEN", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="make goldens"):
        goldens.read_jsonl("bridge/owb_frames.jsonl")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        goldens.read_bytes("kiosk/tm-t20ii_matter_zh.bin")
    assert list(tmp_path.iterdir()) == []  # reading never writes


def test_regenerating_writes_every_golden_file(tmp_path, monkeypatch):
    monkeypatch.setattr(goldens, "GOLDEN", tmp_path)
    changed = goldens.regenerate()
    on_disk = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(changed) == on_disk
    assert "sms/pdus.jsonl" in on_disk and "bridge/led_frames.jsonl" in on_disk
    assert goldens.regenerate() == []  # a second run changes nothing
