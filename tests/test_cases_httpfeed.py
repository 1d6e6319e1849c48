"""The outside case system polled over HTTPS (caseadapter/httpfeed.py): a fake 审批系统
serving its events as JSON behind TLS (a hall CA made by hall.certs), the adapter sending
them through a real mosquitto into the engine — opened, moved, a refused move, an
extension; events served again do nothing twice; the cursor is kept only once the engine
answered; http:// is refused."""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from caseadapter.httpfeed import HttpFeed
from caseadapter.service import CaseAdapter
from hall import certs
from hall.bus import RequestError, Requester
from hall.clock import ManualClock
from tests.test_cases_adapter import with_system
from tests.test_forms_engine import ID_NO, PERSON, data_key  # noqa: F401 (fixture)
from tests.test_ratings_core import at


class FakeApprovalSystem:
    """``GET /events?since=N`` → the events after the N-th, and the cursor after them;
    every request is recorded (path and Authorization)."""

    def __init__(self, tmp_path, token: str = "t0ken"):
        self.events: list[dict] = []
        self.asked: list[tuple[str, str]] = []
        tls = tmp_path / "tls"
        certs.make_ca(tls, "test")
        files = certs.make_cert(tls, "approval", hosts=["127.0.0.1", "localhost"], server=True)
        self.cafile = str(tls / "ca.crt")
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                feed.asked.append((self.path, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    self.send_response(401)
                    self.end_headers()
                    return
                since = int(parse_qs(urlsplit(self.path).query).get("since", ["0"])[0] or 0)
                body = json.dumps({"events": feed.events[since:], "cursor": str(len(feed.events))},
                                  ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the events hold personal data
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(files.cert, files.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def passes(adapter: CaseAdapter, feed: HttpFeed, want_cursor: str) -> list[list[str]]:
    """Poke the adapter and wait until the feed's cursor is kept (every event answered)."""
    adapter.poke()
    deadline = time.monotonic() + 30
    while feed.cursor() != want_cursor:
        assert time.monotonic() < deadline, f"cursor {feed.cursor()!r}, not {want_cursor!r}"
        time.sleep(0.05)
    return feed.results


def test_only_https():
    with pytest.raises(ValueError, match="must be an https:// URL"):
        HttpFeed("http://approval.local/events", "/tmp/x")
    with pytest.raises(ValueError, match="must be an https:// URL"):
        HttpFeed("ftp://approval.local/events", "/tmp/x")


@pytest.mark.broker
def test_events_polled_over_https_open_and_move_a_case_once(small_config, running_engine, bus_client, broker,
                                                             data_key, tmp_path):  # noqa: F811
    cfg = with_system(small_config)
    clock = ManualClock(at("2026-09-30", "10:00"))  # the day before 国庆
    running_engine(cfg, db=tmp_path / "cases.sqlite", clock=clock)
    client = bus_client(cfg.hall.id, "t")
    with FakeApprovalSystem(tmp_path) as system:
        feed = HttpFeed(system.url, tmp_path / "approval.cursor", cafile=system.cafile, token="t0ken")
        adapter = CaseAdapter(cfg.hall.id, "approval", feed, broker.settings, interval=3600,
                              client_id=f"approval-{cfg.hall.id}")
        adapter.start()
        try:
            system.events += [
                {"id": "E1", "action": "open", "ref": "SP-1", "matter": "M1", "handler": "李科员",
                 "opinion": "材料齐全", "name": PERSON["name"], "id_number": ID_NO, "phone": "13812345678"},
                {"id": "E2", "action": "step", "ref": "SP-1", "stage": "审查", "handler": "王审查"},
                {"id": "E3", "action": "step", "ref": "SP-1", "stage": "collected", "handler": "王审查"},
                {"id": "E4", "action": "extend", "ref": "SP-1", "days": 2, "handler": "王审查",
                 "opinion": "专家评审"},
                {"id": "E5", "action": "step", "ref": "SP-1", "stage": "盖章", "handler": "王审查"}]
            got = passes(adapter, feed, "5")
            # M1 promises 5 working days: 8, 9, 10 (调休 Saturday), 12, 13 October; +2: 14, 15 October
            assert got[0] == ["1", "open", "SP-1", "ok", "2026000001", "accepted", "2026-10-13", "", ""]
            assert got[1] == ["2", "step", "SP-1", "ok", "2026000001", "review", "2026-10-13", "", ""]
            assert got[2][:8] == ["3", "step", "SP-1", "refused", "", "", "", "bad_transition"]
            assert got[3] == ["4", "extend", "SP-1", "ok", "2026000001", "review", "2026-10-15", "", ""]
            assert got[4] == ["5", "step", "SP-1", "refused", "", "", "", "bad_row", "no stage '盖章'"]
            assert system.asked[0] == ("/events?since=", "Bearer t0ken")
            # the cursor lost (the adapter's state restored from an old backup): the same
            # events served again are answered from the engine's idempotency records
            (tmp_path / "approval.cursor").unlink()
            again = passes(adapter, feed, "5")
            assert again == got
            system.events.append({"id": "E6", "action": "step", "ref": "SP-1", "stage": "decided",
                                  "handler": "王审查", "opinion": "同意"})
            assert passes(adapter, feed, "6") == [["1", "step", "SP-1", "ok", "2026000001", "decided",
                                                   "2026-10-15", "", ""]]
            assert system.asked[-1][0] == "/events?since=5"
            view = Requester(client, "kiosk", "K1").call("case", {"case": "2026000001", "code": ID_NO[-4:]})
            assert [(s["stage"], s["handler"]) for s in view["steps"]] == [
                ("accepted", "李科员"), ("review", "王审查"), ("review", "王审查"), ("decided", "王审查")]
        finally:
            adapter.stop()


def test_the_cursor_stays_until_the_engine_answers(tmp_path):
    with FakeApprovalSystem(tmp_path) as system:
        system.events.append({"id": "E1", "action": "step", "ref": "SP-1", "stage": "审查", "handler": "王审查"})
        feed = HttpFeed(system.url, tmp_path / "c", cafile=system.cafile, token="t0ken")
        ids = []

        def offline(op, body, rid):
            ids.append(rid)
            raise RequestError("timeout", "no reply")

        feed.run_pass(offline, lambda: False)
        assert feed.cursor() == ""  # asked again next time

        def refusing(op, body, rid):
            ids.append(rid)
            raise RequestError("unknown_case", "approval opened no case 'SP-1'")

        feed.run_pass(refusing, lambda: False)
        assert ids[0] == ids[1]  # the same request id for the same event
        assert feed.cursor() == "1" and feed.results[0][3:8] == ["refused", "", "", "", "unknown_case"]
        # a wrong token: the system says 401; nothing is sent, the cursor stays
        wrong = HttpFeed(system.url, tmp_path / "w", cafile=system.cafile, token="nope")
        with pytest.raises(OSError):
            wrong.run_pass(refusing, lambda: False)
        assert wrong.cursor() == "" and len(ids) == 2
        # a certificate not signed by the CA given: refused before anything is read
        stranger = HttpFeed(system.url, tmp_path / "s", token="t0ken")
        with pytest.raises(OSError):
            stranger.run_pass(refusing, lambda: False)
        assert len(ids) == 2
