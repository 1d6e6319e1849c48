"""HTTP SMS gateway driver: POST JSON ``{"id", "to", "text"}`` to the configured URL.

Authentication is HTTP Basic (``username`` + secret) or a Bearer token (the
secret alone).  The secret is read from a file (a systemd credential) when the
driver opens, kept only in memory, and never appears in a log line, an error
or the device status: errors name the gateway by scheme, host and port only
(a URL's path or query may hold a key too), and never carry the phone number.

Replies: 2xx with JSON ``{"message_id": …}`` (or ``id``) → sent; 400–499
except 408/429 → this message failed for good; 401/403 → the credentials are
wrong (a device fault: every message would fail); 408, 429, 5xx, timeouts and
connection errors → try again later.  The request carries ``Idempotency-Key:
<sms id>`` so a gateway that honours it never sends a retried message twice.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from hall.pii import mask

from . import SendResult, SmsError
from .pdu import part_count

log = logging.getLogger("sms.http")


def read_secret(path: str | None, credential: str) -> str | None:
    """The secret from ``path``, else from ``$CREDENTIALS_DIRECTORY/<credential>``."""
    if path is None:
        cred = os.environ.get("CREDENTIALS_DIRECTORY")
        if not cred:
            return None
        path = os.path.join(cred, credential)
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def safe_url(url: str) -> str:
    """``https://sms.example.com:8443`` — no user info, path or query (they may hold keys)."""
    p = urllib.parse.urlsplit(url)
    host = p.hostname or "?"
    return f"{p.scheme}://{host}" + (f":{p.port}" if p.port else "")


class HttpGateway:
    kind = "sms-http"

    def __init__(self, url: str, username: str | None = None, secret_file: str | None = None,
                 timeout_s: float = 10.0, secret: str | None = None):
        self.url = url
        self.where = safe_url(url)
        self.username = username
        self.secret_file = secret_file
        self.timeout_s = timeout_s
        self._secret = secret
        self.detail: dict = {"gateway": self.where, "last_http": None}

    def __repr__(self) -> str:  # a stray log of the object must not show the secret
        return f"HttpGateway({self.where})"

    def open(self) -> None:
        if self._secret is None:
            self._secret = read_secret(self.secret_file, "sms-gateway")
        if self._secret is None:
            raise SmsError("config", "no gateway secret (secret_file or systemd credential sms-gateway)",
                           device=True)

    def close(self) -> None:
        pass

    def status(self) -> dict:
        return dict(self.detail)

    def _auth(self) -> str:
        if self.username:
            raw = f"{self.username}:{self._secret}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return f"Bearer {self._secret}"

    def send(self, sms_id: str, phone: str, text: str, concat_ref: int = 0, start_part: int = 0,
             progress=None) -> SendResult:
        body = json.dumps({"id": sms_id, "to": phone, "text": text}, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Authorization": self._auth(),
            "Idempotency-Key": sms_id})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                status = resp.status
                data = resp.read(65536)
        except urllib.error.HTTPError as e:
            status = e.code
            self.detail["last_http"] = status
            e.close()
            if status in (401, 403):
                raise SmsError(f"http{status}", f"{self.where} refused the credentials", device=True) from None
            if status in (408, 429) or status >= 500:
                raise SmsError(f"http{status}", f"{self.where} is busy or failing") from None
            raise SmsError(f"http{status}", f"{self.where} rejected the message", permanent=True) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            self.detail["last_http"] = None
            raise SmsError("net", f"{self.where} unreachable: {type(reason).__name__}", device=True) from None
        self.detail["last_http"] = status
        ref = ""
        try:
            doc = json.loads(data or b"{}")
            if isinstance(doc, dict):
                if doc.get("ok") is False:
                    raise SmsError("gateway", f"{self.where} refused: {str(doc.get('error', ''))[:100]}",
                                   permanent=True)
                ref = str(doc.get("message_id") or doc.get("id") or "")
        except ValueError:
            pass
        log.info("sms %s to %s accepted by %s (%s)", sms_id, mask(phone, "phone"), self.where, ref or "no id")
        return SendResult(parts=part_count(text), refs=[ref] if ref else [])


class FakeSender:
    """Accepts everything; logs masked (``type: fake`` for demo halls and tests)."""

    kind = "sms-fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def status(self) -> dict:
        return {"sent": len(self.sent)}

    def send(self, sms_id, phone, text, concat_ref=0, start_part=0, progress=None) -> SendResult:
        self.sent.append((sms_id, phone, text))
        log.info("fake sms %s to %s: %s", sms_id, mask(phone, "phone"), text)
        return SendResult(parts=1, refs=[str(len(self.sent))])
