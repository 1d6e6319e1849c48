"""Console accounts (admin, supervisor, auditor) and their logins.

The accounts live in a small JSON file that ``onewindow web account-add``
writes (mode 0600, hashes only), not in the hall config: the config is pushed
over MQTT and copied to every process, and a password change must not need a
config revision (docs/admin.md says why).

Logins reuse :class:`web.auth.Auth` (argon2 check against a dummy hash for
unknown ids, lock-out, sessions with idle and absolute expiry); a console
session has no window and exactly one role.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from hall.topics import ID_RE

from ..auth import Auth, LoginError, Session, _hasher

ROLES = ("admin", "supervisor", "auditor")
# what each role may do; every mutating console route names the permission it needs
PERMISSIONS = {
    "admin": {"view", "ack", "config"},  # config: the config operations, export and import
    "supervisor": {"view", "ack"},
    "auditor": {"view"},
}
MIN_PASSWORD = 10
SERVICE_GROUP = "onewindow"  # systemd/onewindow-web.service runs as User=onewindow


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role: str
    password_hash: str


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a console password has at least {MIN_PASSWORD} characters")
    return _hasher().hash(password)


class AccountError(ValueError):
    pass


def _check(a: dict, i: int) -> Account:
    try:
        acc = Account(id=str(a["id"]), name=str(a["name"]), role=str(a["role"]),
                      password_hash=str(a["password_hash"]))
    except (KeyError, TypeError) as e:
        raise AccountError(f"accounts[{i}]: missing field {e}") from None
    if not ID_RE.match(acc.id):
        raise AccountError(f"accounts[{i}].id: {acc.id!r} is not an id")
    if acc.role not in ROLES:
        raise AccountError(f"accounts[{i}].role: {acc.role!r} is not one of {', '.join(ROLES)}")
    if not acc.password_hash.startswith("$argon2id$"):
        raise AccountError(f"accounts[{i}].password_hash: not an argon2id hash (never a password)")
    return acc


def load_accounts(path: str | Path) -> list[Account]:
    """The accounts file; a missing file is no accounts (nobody can log in)."""
    p = Path(path)
    if not p.exists():
        return []
    try:
        raw = json.loads(p.read_text("utf-8"))
    except ValueError as e:
        raise AccountError(f"{p}: not JSON ({e})") from None
    out = [_check(a, i) for i, a in enumerate(raw.get("accounts", []))]
    ids = [a.id for a in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise AccountError(f"duplicate account id {sorted(dup)[0]!r}")
    return out


def save_accounts(path: str | Path, accounts: list[Account]) -> None:
    """Write atomically (a crash leaves the old file or the new one), readable by its owner and,
    when root writes it, by the `onewindow` group the web service runs in (nobody else)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".accounts-")
    try:
        os.fchmod(fd, 0o640)
        if os.geteuid() == 0:
            import grp
            try:
                os.fchown(fd, 0, grp.getgrnam(SERVICE_GROUP).gr_gid)
            except KeyError:  # not installed as a service here: root only
                os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"accounts": [asdict(a) for a in accounts]}, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ConsoleAuth(Auth):
    """Logins to the console: the same checks and sessions as the terminal, one role each."""

    def __init__(self, accounts: list[Account], **kw):
        super().__init__([], **kw)
        self.accounts = {a.id: a for a in accounts}

    def login_account(self, user: str, password: str, now: float) -> Session:
        user = user.strip()
        until = self.locked_until(user, now)
        if until is not None:
            raise LoginError("locked", f"too many wrong passwords: locked for {int(until - now) // 60 + 1} min")
        acc = self.accounts.get(user)
        if not self._verify(acc.password_hash if acc else None, password):
            self._fail(user, now)
            if self.locked_until(user, now) is not None:
                raise LoginError("locked", "too many wrong passwords: locked")
            raise LoginError("bad_password", "wrong account or password")
        self._failures.pop(user, None)
        s = Session(token=secrets.token_urlsafe(32), staff=acc.id, name=acc.name, window="",
                    roles=(acc.role,), csrf=secrets.token_urlsafe(24), created=now, seen=now)
        self.sessions[s.token] = s
        return s


def may(session: Session, permission: str) -> bool:
    return any(permission in PERMISSIONS.get(r, ()) for r in session.roles)
