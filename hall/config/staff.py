"""The staff roster: who may log in at a window's terminal (`onewindow web`).

PINs are stored only as argon2 hashes (``onewindow web pin-hash`` makes one).
The roster is left out of the config the engine publishes on
``config/hall/current`` (see :meth:`HallConfig.public_dict`): a hash of a
six-digit PIN is cheap to brute-force once read, so it stays on the hosts
that hold the config file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Ident, Strict

Role = Literal["clerk"]


class StaffMember(Strict):
    id: Ident = Field(description="Staff id (工号) typed at login; also the engine's `staff` of a window.")
    name: str = Field(min_length=1, max_length=32, description="Name shown on the clerk's page.")
    pin_hash: str = Field(pattern=r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$",
                          description="argon2id hash of the PIN (`onewindow web pin-hash`); never the PIN.")
    windows: list[Ident] = Field(min_length=1, description="Window ids this person may log in at.")
    roles: list[Role] = Field(default=["clerk"], min_length=1,
                              description="`clerk`: serves citizens at a window's terminal.")


def staff_problems(staff: list[StaffMember], windows: set[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, s in enumerate(staff):
        if s.id in seen:
            out.append((f"staff[{i}].id", f"duplicate staff id {s.id!r}"))
        seen.add(s.id)
        for w in s.windows:
            if w not in windows:
                out.append((f"staff[{i}].windows", f"unknown window {w!r}"))
    return out
