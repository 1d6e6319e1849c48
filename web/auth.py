"""Who may use the web pages: the staff roster, PIN check, lock-out, sessions.

Pure apart from argon2 (the hashing library) and ``secrets``: the time comes
in as ``now``, so expiry and lock-out are tested without sleeping.

* PINs are checked against argon2id hashes from the roster (``staff:`` in the
  hall config). An unknown staff id is checked against a dummy hash too, so
  the answer takes as long and says the same: nobody learns which ids exist.
* Lock-out: ``max_failures`` wrong PINs for one staff id within
  ``failure_window_s`` lock that id for ``lockout_s`` — even the right PIN is
  refused then (a guesser cannot tell when they hit it).
* Sessions: a random token (the cookie) → staff, window, roles, a CSRF token;
  they end after ``idle_s`` without use or ``max_age_s`` in all.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# OWASP's argon2id minimum (19 MiB, 2 passes): ~0.1 s per check here, and the
# process stays small (the default 64 MiB per check would be half its budget).
ARGON2_PARAMS = dict(time_cost=2, memory_cost=19456, parallelism=1)


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError as e:  # pragma: no cover - a declared dependency of the web extra
        raise RuntimeError("onewindow web needs argon2-cffi (pip install 'onewindow[web]')") from e
    return PasswordHasher(**ARGON2_PARAMS)


def hash_pin(pin: str) -> str:
    """An argon2id hash of ``pin`` for the roster."""
    if not (4 <= len(pin) <= 12 and pin.isdigit()):
        raise ValueError("a PIN is 4–12 digits")
    return _hasher().hash(pin)


class LoginError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Session:
    token: str
    staff: str
    name: str
    window: str
    roles: tuple[str, ...]
    csrf: str
    created: float
    seen: float


@dataclass
class _Failures:
    times: deque = field(default_factory=deque)
    locked_until: float = 0.0


class Auth:
    """The roster's PIN check, lock-out and the live sessions of one process."""

    def __init__(self, roster: list[Any], *, max_failures: int = 5, failure_window_s: float = 900,
                 lockout_s: float = 900, idle_s: float = 1800, max_age_s: float = 12 * 3600):
        self.roster = {s.id: s for s in roster}
        self.max_failures = max_failures
        self.failure_window_s = failure_window_s
        self.lockout_s = lockout_s
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.sessions: dict[str, Session] = {}
        self._failures: dict[str, _Failures] = {}
        self._ph = None
        self._dummy: str | None = None

    def set_roster(self, roster: list[Any]) -> None:
        """A new roster: sessions of people no longer allowed at their window end."""
        self.roster = {s.id: s for s in roster}
        for tok, s in list(self.sessions.items()):
            m = self.roster.get(s.staff)
            if m is None or s.window not in m.windows:
                del self.sessions[tok]

    # --------------------------------------------------------------- PINs --
    def _verify(self, pin_hash: str | None, pin: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
        if self._ph is None:
            self._ph = _hasher()
            self._dummy = self._ph.hash("000000")
        try:
            return self._ph.verify(pin_hash or self._dummy, pin) and pin_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def locked_until(self, staff: str, now: float) -> float | None:
        f = self._failures.get(staff)
        return f.locked_until if f is not None and f.locked_until > now else None

    def login(self, staff: str, pin: str, window: str, now: float, role: str = "clerk") -> Session:
        """Check the PIN and open a session at ``window``; raises :class:`LoginError`."""
        staff = staff.strip()
        until = self.locked_until(staff, now)
        if until is not None:
            raise LoginError("locked", f"too many wrong PINs: locked for {int(until - now) // 60 + 1} min")
        member = self.roster.get(staff)
        ok = self._verify(member.pin_hash if member else None, pin)
        if not ok:
            self._fail(staff, now)
            until = self.locked_until(staff, now)
            if until is not None:
                raise LoginError("locked", f"too many wrong PINs: locked for {int(until - now) // 60 + 1} min")
            raise LoginError("bad_pin", "wrong staff id or PIN")
        self._failures.pop(staff, None)
        if window not in member.windows:
            raise LoginError("wrong_window", f"{staff} may not work at window {window}")
        if role not in member.roles:
            raise LoginError("wrong_role", f"{staff} has no role {role}")
        s = Session(token=secrets.token_urlsafe(32), staff=staff, name=member.name, window=window,
                    roles=tuple(member.roles), csrf=secrets.token_urlsafe(24), created=now, seen=now)
        self.sessions[s.token] = s
        return s

    def _fail(self, staff: str, now: float) -> None:
        if len(self._failures) > 10_000:  # bounded: ids typed at the login page come from anyone
            self._failures = {k: v for k, v in self._failures.items() if v.locked_until > now}
        f = self._failures.setdefault(staff, _Failures())
        f.times.append(now)
        while f.times and f.times[0] <= now - self.failure_window_s:
            f.times.popleft()
        if len(f.times) >= self.max_failures:
            f.locked_until = now + self.lockout_s
            f.times.clear()

    # ----------------------------------------------------------- sessions --
    def session(self, token: str | None, now: float, touch: bool = True) -> Session | None:
        s = self.sessions.get(token or "")
        if s is None:
            return None
        if now - s.seen > self.idle_s or now - s.created > self.max_age_s:
            del self.sessions[s.token]
            return None
        if touch:
            s.seen = now
        return s

    def logout(self, token: str | None) -> Session | None:
        return self.sessions.pop(token or "", None)

    def at_window(self, window: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.window == window]
