"""The HTTP gateway driver against a local HTTP server; secrets never reach a log."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sms import SmsError
from sms.http_gateway import HttpGateway, read_secret, safe_url

SECRET = "s3cr3t-T0KEN-value"
PHONE = "13812345678"


class Gateway:
    def __init__(self):
        self.requests: list[tuple[dict, dict]] = []
        self.replies: list[tuple[int, dict]] = []
        self.redirect_to: str | None = None
        self.delay_s = 0.0
        gw = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):  # what a client following a redirect with GET would send
                gw.requests.append((dict(self.headers), {}))
                self.send_response(200)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gw.requests.append((dict(self.headers), body))
                if gw.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", gw.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(gw.delay_s)
                code, doc = gw.replies.pop(0) if gw.replies else (200, {"message_id": f"m{len(gw.requests)}"})
                data = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/sms?key=should-not-be-logged"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.stop()


def test_bearer_token_from_a_credential_file(gateway, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    (tmp_path / "sms-gateway").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    drv = HttpGateway(gateway.url, timeout_s=3)
    drv.open()
    res = drv.send("20261120-G006.near", PHONE, "【测试】您的号码G006前面还有2人")
    assert res.refs == ["m1"]
    headers, body = gateway.requests[0]
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Idempotency-Key"] == "20261120-G006.near"
    assert body == {"id": "20261120-G006.near", "to": PHONE, "text": "【测试】您的号码G006前面还有2人"}
    assert SECRET not in caplog.text and PHONE not in caplog.text and "should-not" not in caplog.text
    assert "138****5678" in caplog.text
    assert SECRET not in repr(drv) and SECRET not in json.dumps(drv.status())


def test_basic_auth_and_error_classes(gateway, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secret = tmp_path / "pw"
    secret.write_text(SECRET)
    drv = HttpGateway(gateway.url, username="hall1", secret_file=str(secret), timeout_s=3)
    drv.open()
    gateway.replies = [(400, {"error": "bad number"}), (503, {}), (429, {}), (401, {}),
                       (200, {"ok": False, "error": "blacklisted"})]
    outcomes = []
    for _ in range(5):
        with pytest.raises(SmsError) as e:
            drv.send("x", PHONE, "hi")
        outcomes.append((e.value.code, e.value.permanent, e.value.device))
        assert SECRET not in str(e.value) and PHONE not in str(e.value) and "should-not" not in str(e.value)
    assert outcomes == [("http400", True, False), ("http503", False, False), ("http429", False, False),
                        ("http401", False, True), ("gateway", True, False)]
    auth = gateway.requests[0][0]["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == f"hall1:{SECRET}"
    assert SECRET not in caplog.text


def test_a_redirect_is_not_followed(gateway):
    """The request carries a phone number and the secret: only to the configured address."""
    elsewhere = Gateway()
    try:
        gateway.redirect_to = elsewhere.url
        drv = HttpGateway(gateway.url, secret=SECRET, timeout_s=3)
        drv.open()
        with pytest.raises(SmsError) as e:
            drv.send("x", PHONE, "hi")
        assert (e.value.code, e.value.device, e.value.unknown) == ("http307", True, False)
        assert len(gateway.requests) == 1 and elsewhere.requests == []  # send() returns after its one request
    finally:
        elsewhere.stop()


def test_no_reply_after_the_request_went_out_is_unknown_not_a_retry(gateway):
    """The gateway may have sent the SMS before its reply was lost: trying again could send it twice."""
    gateway.delay_s = 2.0
    drv = HttpGateway(gateway.url, secret=SECRET, timeout_s=0.5)
    drv.open()
    with pytest.raises(SmsError) as e:
        drv.send("20261120-A007.called", PHONE, "hi")
    assert e.value.unknown and not e.value.permanent
    assert gateway.requests[0][1]["id"] == "20261120-A007.called"
    assert PHONE not in str(e.value) and "should-not" not in str(e.value)
    # refused before anything went out: nothing can have been sent, so it is tried again
    drv = HttpGateway("http://127.0.0.1:9/x", secret=SECRET, timeout_s=1)
    drv.open()
    with pytest.raises(SmsError) as e:
        drv.send("x", PHONE, "hi")
    assert not e.value.unknown and e.value.device


def test_unreachable_gateway_and_missing_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(SmsError) as e:
        HttpGateway("http://127.0.0.1:9/x").open()
    assert e.value.device and e.value.code == "config"
    drv = HttpGateway("http://user:pw@127.0.0.1:9/x?token=abc", secret="t", timeout_s=1)
    drv.open()
    with pytest.raises(SmsError) as e:
        drv.send("x", PHONE, "hi")
    assert e.value.device and "pw" not in str(e.value) and "abc" not in str(e.value)
    assert safe_url("https://u:p@gw.example.com:8443/p?k=v") == "https://gw.example.com:8443"
    assert read_secret(str(tmp_path / "none"), "x") is None
