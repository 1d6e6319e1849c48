"""The hall config: the example hall, refusals naming the field, migrations."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hall.config import ConfigError, load_config, parse_config
from tests.conftest import small_raw

ROOT = Path(__file__).resolve().parent.parent


def test_example_hall_is_valid_and_of_realistic_size():
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    assert len(cfg.zones) >= 6 and len(cfg.matters) >= 60 and len(cfg.windows) >= 40
    assert len(cfg.bundles) >= 3
    kinds = {w.kind for w in cfg.windows}
    assert kinds == {"comprehensive", "specialised"}
    assert all(m.name.zh and m.name.en for m in cfg.matters)
    assert cfg.hall.timezone == "Asia/Shanghai"


def problems(raw) -> dict[str, str]:
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    return dict(e.value.problems)


def test_unknown_field_is_refused_with_its_path():
    raw = small_raw()
    raw["windows"][2]["colour"] = "red"
    raw["hall"]["nmae"] = "typo"
    p = problems(raw)
    assert p["windows[2].colour"] == "Extra inputs are not permitted"
    assert p["hall.nmae"] == "Extra inputs are not permitted"


def test_cross_references_are_checked():
    raw = small_raw()
    raw["matters"][0]["zone"] = "Z9"
    raw["windows"][1]["serves"] = {"M404": 1}
    raw["bundles"][0]["matters"] = ["M1", "M77"]
    raw["windows"][3]["number"] = "1"
    p = problems(raw)
    assert p["matters[0].zone"] == "unknown zone 'Z9'"
    assert p["windows[1].serves.M404"] == "unknown matter or bundle"
    assert p["bundles[0].matters"] == "unknown matter 'M77'"
    assert p["windows"] == "duplicate number '1'"


def test_values_are_checked():
    raw = small_raw()
    raw["hall"]["timezone"] = "Mars/Olympus"
    raw["windows"][0]["serves"]["M1"] = 12
    raw["queue"]["recall_limit"] = -1
    raw["hall"]["id"] = "bad/id"
    p = problems(raw)
    assert "unknown time zone 'Mars/Olympus'" in p["hall.timezone"]
    assert "weight of M1 must be 1–9, got 12" in p["windows[0].serves"]
    assert "queue.recall_limit" in p
    assert "hall.id" in p


def test_version_is_required_and_migrated():
    raw = small_raw()
    del raw["version"]
    assert problems(raw) == {"version": "missing or not an integer: None"}
    raw["version"] = 99
    assert "newer than this software" in problems(raw)["version"]
    v0 = small_raw()
    v0["version"] = 0
    q = v0.pop("queue")
    v0["recall_limit"] = 4
    v0["noshow_minutes"] = 12
    v0["queue"] = {"board_recent": q["board_recent"], "issue_only_in_service_hours": False}
    cfg = parse_config(v0)
    assert (cfg.version, cfg.queue.recall_limit, cfg.queue.noshow_requeue_minutes) == (2, 4, 12)


def test_version_1_forms_retention_moves_to_privacy():
    v1 = small_raw()
    v1["version"] = 1
    v1["forms"] = {"profile_retention_days": 90, "form_retention_days": 5}
    v1["privacy"] = {"retention_days": 2}
    cfg = parse_config(v1)
    assert cfg.version == 2
    assert (cfg.privacy.retention_days, cfg.privacy.profile_retention_days, cfg.privacy.form_retention_days) \
        == (2, 90, 5)
    assert "profile_retention_days" not in cfg.to_json_dict()["forms"]
    # a version-2 file with the old place is refused, naming the field
    v2 = small_raw()
    v2["forms"] = {"form_retention_days": 5}
    assert "forms.form_retention_days" in problems(v2)


def test_unreadable_and_bad_yaml_files(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "missing.yaml")
    assert e.value.problems[0][0] == "(file)"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nhall: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    assert e.value.problems[0][0] == "(yaml)"


def test_service_hours():
    import datetime as dt
    from zoneinfo import ZoneInfo
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    tz = ZoneInfo("Asia/Shanghai")
    sh = cfg.service_hours
    assert sh.is_open(dt.datetime(2026, 11, 23, 9, 0, tzinfo=tz))       # Monday morning
    assert not sh.is_open(dt.datetime(2026, 11, 23, 12, 30, tzinfo=tz))  # lunch
    assert not sh.is_open(dt.datetime(2026, 11, 21, 9, 0, tzinfo=tz))   # Saturday
    assert not sh.is_open(dt.datetime(2027, 1, 1, 9, 0, tzinfo=tz))     # holiday


def test_devices_must_name_existing_windows():
    raw = yaml.safe_load((ROOT / "config" / "hall.example.yaml").read_text(encoding="utf-8"))
    assert raw["devices"]["serial"], "the example hall declares serial devices"
    raw["devices"]["serial"][0]["window"] = "W404"
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert ("devices.serial[0].window", "unknown window 'W404'") in e.value.problems


def test_missing_optional_module_is_named(monkeypatch):
    from click.testing import CliRunner
    from hall import cli
    monkeypatch.setitem(cli.SUBCOMMANDS, "ghost", ("no_such_pkg.cli:cmd", "A command whose package is absent."))
    out = CliRunner().invoke(cli.main, ["ghost"])
    assert out.exit_code != 0 and "missing module no_such_pkg" in out.output


def test_the_file_is_read_with_one_string_per_value():
    """read_yaml gives back what yaml.safe_load gives, each equal string one
    object: a matter id in every window's `serves` is not a copy per window."""
    import datetime as dt

    from hall.config import read_yaml
    text = ("windows:\n" + "".join(f"  - {{id: W{i}, zone: Z1, serves: {{M1: 3, M2: 1}}}}\n" for i in range(50))
            + "closed_dates: [2026-10-01, 2026-10-02]\nname: {zh: 大厅, en: Hall}\n")
    got = read_yaml(text)
    assert got == yaml.safe_load(text) and got["closed_dates"][0] == dt.date(2026, 10, 1)
    keys = [k for w in got["windows"] for k in w["serves"]]
    assert len(keys) == 100 and len({id(k) for k in keys}) == 2
    assert len({id(w["zone"]) for w in got["windows"]}) == 1
    assert len({id(w["id"]) for w in got["windows"]}) == 50
