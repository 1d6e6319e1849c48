"""Rows of the forms extension (caller/forms.py) as the store writes them.

``data`` is always a Fernet token of :class:`hall.crypto.DataCipher`: what
the SQLite file holds of a citizen is unreadable without the data key, and a
profile's ``key`` is the keyed hash of the ID number, not the number.
"""

from __future__ import annotations

import msgspec


class ProfileRow(msgspec.Struct, kw_only=True):
    key: str            # DataCipher.lookup_hash(id_number)
    updated_at: float
    expires_at: float   # updated_at + privacy.profile_retention_days
    data: bytes         # sealed {profile key: value}


class ProfileDrop(msgspec.Struct, kw_only=True):
    """The citizen erased their profile."""

    key: str


class TicketFormRow(msgspec.Struct, kw_only=True):
    ticket: str
    day: str
    target: str         # matter or bundle whose form it is
    data: bytes         # sealed {field id: value}


class FormsPurge(msgspec.Struct, kw_only=True):
    """Retention: profiles expired by ``profiles_before``, forms of days before ``forms_before_day``."""

    profiles_before: float
    forms_before_day: str
