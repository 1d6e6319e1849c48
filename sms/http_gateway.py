"""HTTP SMS gateway driver: POST JSON ``{"id", "to", "text"}`` to the configured URL.

Authentication is HTTP Basic (``username`` + secret) or a Bearer token (the
secret alone).  The secret is read from a file (a systemd credential) when the
driver opens, kept only in memory, and never appears in a log line, an error
or the device status: errors name the gateway by scheme, host and port only
(a URL's path or query may hold a key too), and never carry the phone number.

Replies: 2xx with JSON ``{"message_id": …}`` (or ``id``) → sent; 400–499
except 408/429 → this message failed for good; 401/403 → the credentials are
wrong (a device fault: every message would fail); 408, 429, 5xx and a
connection that fails before the request went out → try again later.  A
timeout or a lost connection *after* the whole request went out → ``unknown``,
never retried: the gateway may have sent it, and not every gateway honours the
``Idempotency-Key: <sms id>`` the request carries.  A redirect (3xx) is not
followed — the request would carry the phone number and the secret to an
address nobody configured — and counts as a device fault (fix the URL).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import ssl
import urllib.parse
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

    def _connection(self) -> tuple[http.client.HTTPConnection, str]:
        """The connection (not yet open) and the request target (path and query)."""
        p = urllib.parse.urlsplit(self.url)
        target = (p.path or "/") + (f"?{p.query}" if p.query else "")
        if p.scheme == "https":
            return http.client.HTTPSConnection(p.hostname, p.port, timeout=self.timeout_s,
                                               context=ssl.create_default_context()), target
        if p.scheme == "http":
            return http.client.HTTPConnection(p.hostname, p.port, timeout=self.timeout_s), target
        raise SmsError("config", f"{self.where}: not an http(s) URL", device=True)

    def _post(self, sms_id: str, body: bytes) -> tuple[int, bytes]:
        """One POST, no redirect followed; the phase of a network error decides retry or unknown."""
        conn, target = self._connection()
        try:
            try:
                conn.connect()
                conn.request("POST", target, body=body, headers={
                    "Content-Type": "application/json; charset=utf-8", "Authorization": self._auth(),
                    "Idempotency-Key": sms_id})
            except (OSError, http.client.HTTPException) as e:
                # refused, unreachable, TLS failure, or cut off before the body was all
                # out: the gateway cannot have acted on it
                raise SmsError("net", f"{self.where} unreachable: {type(e).__name__}", device=True) from None
            try:
                resp = conn.getresponse()
                return resp.status, resp.read(65536)
            except (OSError, http.client.HTTPException) as e:
                raise SmsError("no_reply", f"{self.where} sent no reply ({type(e).__name__}) after the "
                                           "request; the SMS may have been sent", unknown=True) from None
        finally:
            conn.close()

    def send(self, sms_id: str, phone: str, text: str, concat_ref: int = 0, start_part: int = 0,
             progress=None) -> SendResult:
        body = json.dumps({"id": sms_id, "to": phone, "text": text}, ensure_ascii=False).encode()
        self.detail["last_http"] = None
        status, data = self._post(sms_id, body)
        self.detail["last_http"] = status
        if 300 <= status < 400:
            raise SmsError(f"http{status}", f"{self.where} answers with a redirect, which is not followed "
                                            "(check notify.sms.sender.url)", device=True)
        if status in (401, 403):
            raise SmsError(f"http{status}", f"{self.where} refused the credentials", device=True)
        if status in (408, 429) or status >= 500:
            raise SmsError(f"http{status}", f"{self.where} is busy or failing")
        if status >= 400 or status < 200:
            raise SmsError(f"http{status}", f"{self.where} rejected the message", permanent=True)
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
