"""The roster, PIN check, lock-out and sessions of `onewindow web` (pure, clock given);
the roster in the hall config and out of the published config."""

from __future__ import annotations

import pytest

from hall.config import ConfigError, parse_config
from tests.web_kit import OTHER_PIN, PIN, pin_hash, terminal_config, terminal_raw
from web.auth import Auth, LoginError, hash_pin

T = 1_800_000_000.0


def auth(**kw) -> Auth:
    return Auth(terminal_config().staff, **kw)


def code(a: Auth, staff: str, pin: str, window: str = "W1", now: float = T) -> str:
    with pytest.raises(LoginError) as e:
        a.login(staff, pin, window, now)
    return e.value.code


def test_pin_hashes_are_argon2id_and_never_the_pin():
    h = hash_pin("246810")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and "246810" not in h
    assert hash_pin("246810") != h  # salted
    for bad in ("12", "abcdef", "1234567890123"):
        with pytest.raises(ValueError):
            hash_pin(bad)


def test_login_opens_a_session_only_for_the_right_pin_at_an_allowed_window():
    a = auth()
    assert code(a, "S001", "000000") == "bad_pin"
    assert code(a, "nobody", PIN) == "bad_pin"  # the same answer: ids are not revealed
    assert code(a, "S002", OTHER_PIN, "W1") == "wrong_window"
    s = a.login(" S001 ", PIN, "W1", T)
    assert (s.staff, s.name, s.window, s.roles) == ("S001", "王芳", "W1", ("clerk",))
    assert len(s.token) >= 40 and len(s.csrf) >= 30 and s.token != s.csrf
    assert a.session(s.token, T + 10) is s
    assert a.session("forged", T + 10) is None and a.session(None, T) is None


def test_lock_out_after_repeated_failures_then_released():
    a = auth(max_failures=3, failure_window_s=600, lockout_s=900)
    assert [code(a, "S001", p, now=T + i) for i, p in enumerate(["1111", "2222"])] == ["bad_pin", "bad_pin"]
    assert code(a, "S001", "3333", now=T + 3) == "locked"
    assert code(a, "S001", PIN, now=T + 100) == "locked"  # the right PIN too
    assert a.login("S002", OTHER_PIN, "W2", T + 100)  # others are not locked
    assert a.login("S001", PIN, "W1", T + 3 + 900).staff == "S001"
    # failures further apart than the window do not add up
    for i in range(5):
        assert code(a, "S002", "0000", "W2", now=T + 2000 + i * 601) == "bad_pin"


def test_a_success_clears_the_failure_count():
    a = auth(max_failures=3)
    code(a, "S001", "1111")
    code(a, "S001", "2222")
    a.login("S001", PIN, "W1", T + 1)
    assert code(a, "S001", "3333", now=T + 2) == "bad_pin"


def test_sessions_end_when_idle_or_too_old_and_on_logout():
    a = auth(idle_s=60, max_age_s=300)
    s = a.login("S001", PIN, "W1", T)
    assert a.session(s.token, T + 50) is s
    assert a.session(s.token, T + 100) is s  # used at +50: still within 60 s
    assert a.session(s.token, T + 140, touch=False) is s
    assert a.session(s.token, T + 201) is None  # idle since +100
    s = a.login("S001", PIN, "W1", T)
    for t in range(50, 300, 50):
        assert a.session(s.token, T + t) is s
    assert a.session(s.token, T + 301) is None  # too old, however busy
    s = a.login("S001", PIN, "W1", T)
    assert a.logout(s.token) is s and a.session(s.token, T) is None


def test_roster_in_the_config_is_checked_and_not_published():
    cfg = terminal_config()
    assert [s.id for s in cfg.staff] == ["S001", "S002"]
    pub = cfg.public_dict()
    assert "staff" not in pub and pin_hash(PIN) not in str(pub)
    assert parse_config(pub).digest() == cfg.digest()  # a process following the bus agrees on it
    raw = terminal_raw()
    raw["staff"][1]["windows"] = ["W99"]
    raw["staff"].append(dict(raw["staff"][0]))
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert e.value.problems == [("staff[1].windows", "unknown window 'W99'"),
                                ("staff[2].id", "duplicate staff id 'S001'")]
    raw = terminal_raw()
    raw["staff"][0]["pin_hash"] = "246810"  # a PIN where its hash belongs
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert [p for p, _ in e.value.problems] == ["staff[0].pin_hash"]
