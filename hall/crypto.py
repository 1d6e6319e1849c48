"""Personal data at rest: field encryption with the hall's data key.

Phones, ID numbers and form data are stored encrypted (Fernet: AES-128-CBC +
HMAC-SHA256, from the maintained ``cryptography`` package) so that a copied
SQLite file or backup reveals nothing without the key.  The key comes from a
systemd credential (``LoadCredential=data-key:/etc/onewindow/credentials/data-key``
→ ``$CREDENTIALS_DIRECTORY/data-key``), never from the config or the command
line.

Look-ups by an ID number (a citizen's profile) use :meth:`DataCipher.lookup_hash`,
a keyed HMAC: the same number always gives the same key, and the hash tells
nothing to whoever has the database without the data key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

CREDENTIAL = "data-key"
ENV_FILE = "ONEWINDOW_DATA_KEY_FILE"


class KeyError_(RuntimeError):
    """No data key, or one that cannot decrypt what is stored."""


def new_key() -> bytes:
    """A fresh data key (44 url-safe base64 bytes) for `onewindow creds` / the installer."""
    return Fernet.generate_key()


def write_key(path: str | Path) -> Path:
    """Write a fresh data key to ``path`` (mode 0600) for a demo or a test hall."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(new_key())
    return path


def use_fresh_key(folder: str | Path) -> Path:
    """For a demo or a benchmark: a new data key in ``folder``, exported as
    ``$ONEWINDOW_DATA_KEY_FILE`` (so the engines it starts find it) unless one is set."""
    if not os.environ.get(ENV_FILE):
        os.environ[ENV_FILE] = str(write_key(Path(folder) / "data-key"))
    return Path(os.environ[ENV_FILE])


def load_key(path: str | Path | None = None) -> bytes:
    """The data key: ``path``, else ``$ONEWINDOW_DATA_KEY_FILE``, else the systemd credential."""
    candidates = [path, os.environ.get(ENV_FILE)]
    cred = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred:
        candidates.append(os.path.join(cred, CREDENTIAL))
    for c in candidates:
        if c and os.path.exists(c):
            return Path(c).read_bytes().strip()
    raise KeyError_(f"no data key: set {ENV_FILE} or LoadCredential={CREDENTIAL}:… in the unit")


class DataCipher:
    """Encrypts and decrypts personal data fields; no I/O after construction."""

    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as e:
            raise KeyError_(f"the data key is not a valid Fernet key: {e}") from None
        # the HMAC key is derived, so the lookup hash never equals anything Fernet makes
        self._mac_key = hashlib.sha256(b"onewindow-lookup\0" + base64.urlsafe_b64decode(key)).digest()

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> "DataCipher":
        return cls(load_key(path))

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise KeyError_("stored personal data does not decrypt with this data key") from None

    def encrypt_text(self, value: str | None) -> bytes | None:
        return None if value is None else self.encrypt(value.encode("utf-8"))

    def decrypt_text(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token).decode("utf-8")

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt(token))

    def lookup_hash(self, value: str) -> str:
        """A keyed hash of an identifier (ID number, phone) to find its record by."""
        norm = value.strip().upper()
        return hmac.new(self._mac_key, norm.encode("utf-8"), hashlib.sha256).hexdigest()
