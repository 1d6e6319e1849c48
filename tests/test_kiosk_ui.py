"""Kiosk screens driven headless (SDL offscreen) against a real mosquitto and the real engine.

Every screen is saved to tests/artifacts/kiosk/ (git-ignored); the ones in
docs/screens/kiosk/ were picked from there after looking at them.
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall import messages as m
from hall.bus import BusSettings, Requester
from hall.config import parse_config
from hall.topics import REGISTRY
from kiosk.fake_printer import FakePrinter
from kiosk.flow import S
from kiosk.ticket_layout import ticket_link
from kiosk.printer import EscposTicketPrinter
from kiosk.service import KioskService

from .test_kiosk_flow import kiosk_config

pytestmark = [pytest.mark.ui, pytest.mark.broker]

ART = Path(__file__).parent / "artifacts" / "kiosk"


@pytest.fixture(scope="module")
def kivy_ready():
    from kiosk.app import configure_kivy
    configure_kivy(kiosk_config().kiosks.screen)
    yield


@pytest.fixture
def hall(small_config):
    """The small test hall with the kiosk section, under this test's unique hall id."""
    raw = small_config.to_json_dict()
    raw["kiosks"] = kiosk_config().kiosks.model_dump(mode="json")
    return parse_config(raw)


@pytest.fixture
def kiosk(broker, kivy_ready):
    """Factory: ``kiosk(cfg, kid="K1", paper="ok", settings=None)`` → (Harness, FakePrinter)."""
    from kiosk.app import Harness
    made = []

    def make(cfg, kid="K1", paper="ok", settings: BusSettings | None = None, printer=True):
        fp = FakePrinter(paper).start() if printer else None
        pr = None
        if printer:
            pc = cfg.kiosks.device(kid).printer.model_copy(update={"device": fp.path})
            pr = EscposTicketPrinter(pc)
        svc = KioskService(cfg, kid, settings or broker.settings, printer=pr,
                           client_id=f"kiosk-{cfg.hall.id}-{kid}-{len(made)}")
        svc.start(connect_timeout=5 if settings is None else 0)
        h = Harness(svc)
        made.append((h, svc, fp))
        return h, fp

    yield make
    for h, svc, fp in made:
        h.detach()
        svc.stop()
        if fp:
            fp.stop()


DOCS = Path(__file__).parent.parent / "docs" / "screens" / "kiosk"


def shot(h, name: str) -> None:
    """Save a screenshot; ``ONEWINDOW_PUBLISH_SCREENS=1`` refreshes docs/screens/kiosk/ too."""
    import os
    import shutil
    path = h.screenshot(ART / f"{name}.png")
    if os.environ.get("ONEWINDOW_PUBLISH_SCREENS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")


def window_y(w) -> tuple[float, float]:
    """A widget's bottom and top on the panel (inside the scrolling content too)."""
    return w.to_window(w.x, w.y)[1], w.to_window(w.x, w.top)[1]


def under_the_header(h) -> None:
    """Nothing of the content is drawn over the header band: taller content scrolls."""
    v = h.view
    top = window_y(v.scroll)[1]
    for w in v.body.walk():
        if getattr(w, "text", ""):
            assert window_y(w)[1] <= top + 1, f"{h.svc.flow.screen}: {w.text!r} is drawn over the header"


def reachable_above_the_nav(h, widgets) -> None:
    """Scrolled to the end, every one of ``widgets`` shows above the nav bar."""
    v = h.view
    v.scroll.scroll_y = 0
    h.step()
    nav_top = window_y(v.scroll)[0]
    assert all(window_y(w)[0] >= nav_top - 1 for w in widgets), "runs under the nav bar"
    v.scroll.scroll_y = 1
    h.step()


def touch_targets_ok(h) -> None:
    """Every button on screen is at least kiosks.screen.touch_mm in both directions,
    and no content is drawn over the header."""
    under_the_header(h)
    scr = h.svc.cfg.kiosks.screen
    least = scr.touch_mm / 25.4 * scr.dpi
    for action, btn in h.view.buttons.items():
        assert btn.height >= least - 0.5 and btn.width >= least - 0.5, \
            f"{h.svc.flow.screen}: button {action} is {btn.width:.0f}×{btn.height:.0f} px < {least:.0f}"


def printed_bytes(fp, want: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    end = time.monotonic() + timeout
    while want not in data and time.monotonic() < end:
        data += fp.take()
        time.sleep(0.02)
    return data


def test_plain_matter_issue_print_and_every_step_on_screen(hall, running_engine, kiosk):
    running_engine(hall)
    avail: list[str] = []
    h, fp = kiosk(hall)
    from hall.bus import Bus
    probe = Bus(hall.hall.id, f"probe-{hall.hall.id}", h.svc.bus.settings)
    probe.subscribe(REGISTRY["kiosk.availability"], lambda p, b: avail.append(m.decode(b, m.Availability).state),
                    ident="K1")
    probe.start()
    assert h.until(lambda: h.svc.flow.printer_state == "ok" and avail == ["online"])
    probe.stop()
    shot(h, "01-home")
    touch_targets_ok(h)
    h.press("zone:Z1")
    shot(h, "02-zone")
    touch_targets_ok(h)
    h.press("target:M1")
    h.press("answer:agent=agent")
    shot(h, "03-matter")
    touch_targets_ok(h)
    h.press("next")
    h.svc.scan("330106199001011234")
    h.step()
    shot(h, "04-identity")
    h.press("phone")
    for d in "13800138000":
        h.press(f"key:{d}")
    shot(h, "05-phone")
    touch_targets_ok(h)
    h.press("submit")
    shot(h, "06-confirm")
    touch_targets_ok(h)
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    number = h.svc.flow.s.ticket["number"]
    assert number == "A001"
    assert h.until(lambda: h.svc.flow.s.print_state == "ok")
    shot(h, "07-ticket")
    data = printed_bytes(fp, b"20261121")
    assert "A001".encode() in data and "□ 授权委托书".encode("gb18030") in data
    assert h.svc.flow.s.ticket["ticket"].encode() in data   # in the QR code
    labels = [w.text for w in h.view.root.walk() if hasattr(w, "text")]
    assert "A001" in labels


def test_bundle_in_elderly_mode_with_elderly_priority(hall, running_engine, kiosk):
    running_engine(hall)
    h, fp = kiosk(hall, "K2", printer=True)
    assert h.until(lambda: h.svc.flow.screen == S.HOME)  # a press while it starts is ignored
    h.press("elderly")
    assert h.svc.flow.s.elderly
    shot(h, "10-home-elderly")
    touch_targets_ok(h)
    h.press("target:B1")
    shot(h, "11-bundle-elderly")
    touch_targets_ok(h)
    h.press("next")
    h.press("next")
    h.press("prio:elderly")
    shot(h, "12-confirm-elderly")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    tk = h.svc.flow.s.ticket
    assert tk["bundle"] == "B1" and tk["priority"] == "elderly" and tk["number"].startswith("Y")
    assert h.until(lambda: h.svc.flow.s.print_state == "ok")
    shot(h, "13-ticket-elderly")
    data = printed_bytes(fp, "经营场所平面图".encode("gb18030"))
    assert b"\x1dv0" in data            # 58 mm profile: QR as an image


def test_green_channel_bad_code_then_good_code(hall, running_engine, kiosk):
    running_engine(hall)
    h, _ = kiosk(hall)
    h.press("zone:Z2")
    h.press("target:M4")
    h.press("next")
    h.press("next")
    h.press("prio:green")
    for k in "NOPE":
        h.press(f"key:{k}")
    shot(h, "20-green-code")
    touch_targets_ok(h)
    h.press("submit")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR)
    assert h.svc.flow.s.error == "bad_priority_code"
    shot(h, "21-error-bad-code")
    h.press("back")
    assert h.svc.flow.screen == S.CONFIRM
    h.press("prio:green")
    for k in "LS2026":
        h.press(f"key:{k}")
    h.press("submit")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    assert h.svc.flow.s.ticket["priority"] == "green"


def test_appointment_check_in_by_scanning_the_booking_qr(hall, running_engine, kiosk, bus_client):
    eng = running_engine(hall)
    admin = bus_client(hall.hall.id, "admin")
    now = time.time()
    # booked for a minute ago (on time), but never before the hall's midnight: in the
    # first minute of a day a minute ago is yesterday, another day's booking
    since_midnight = now - datetime.combine(datetime.fromtimestamp(now, ZoneInfo(hall.hall.timezone)).date(),
                                            dtime(), ZoneInfo(hall.hall.timezone)).timestamp()
    start = now - min(60.0, since_midnight)
    Requester(admin, "config", "admin").call("appointments", {"appointments": [
        {"code": "BK20261121001", "matter": "M5", "start": start, "end": now + 1800}]})
    h, fp = kiosk(hall)
    h.press("checkin")
    shot(h, "30-checkin")
    touch_targets_ok(h)
    h.svc.scan("BK20261121001")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    tk = h.svc.flow.s.ticket
    assert tk["matter"] == "M5" and tk["priority"] == "appointment"
    h.until(lambda: h.svc.flow.s.print_state == "ok")
    shot(h, "31-checkin-ticket")
    h.press("done")
    h.svc.scan("BK-NOT-BOOKED")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR)
    assert h.svc.flow.s.error == "unknown_appointment"
    shot(h, "32-error-unknown-appointment")
    assert eng is not None


def test_paper_out_shows_number_asks_to_note_it_and_publishes_status(hall, running_engine, kiosk, bus_client):
    running_engine(hall)
    seen: list[m.DeviceStatus] = []
    watcher = bus_client(hall.hall.id, "watch")
    watcher.subscribe(REGISTRY["device.status"], lambda p, b: seen.append(m.decode(b, m.DeviceStatus)),
                      ident="K1")
    h, fp = kiosk(hall, paper="out")
    assert h.until(lambda: h.svc.flow.printer_state == "paper_out")
    shot(h, "40-home-paper-out")
    h.press("zone:Z1")
    h.press("target:M3")
    h.press("next")
    h.press("next")
    h.press("take")
    assert h.until(lambda: h.svc.flow.s.print_state == "failed")
    shot(h, "41-ticket-print-failed")
    texts_on_screen = " ".join(w.text for w in h.view.root.walk() if hasattr(w, "text"))
    assert "请记下您的号码：A001" in texts_on_screen
    assert fp.take() == b""
    end = time.monotonic() + 5
    while not seen and time.monotonic() < end:
        time.sleep(0.05)
    assert seen and seen[-1].ok is False and seen[-1].detail["state"] == "paper_out"
    assert seen[-1].kind == "printer"


def test_engine_down_shows_a_clear_screen_and_retry_gives_one_ticket(hall, running_engine, kiosk):
    h, _ = kiosk(hall)
    h.press("lang:en")
    h.press("zone:Z1")
    h.press("target:M2")
    h.press("next")
    h.press("next")
    h.press("take")
    assert h.svc.flow.screen == S.BUSY
    shot(h, "50-busy")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR, timeout=20)
    assert h.svc.flow.s.error == "timeout"
    shot(h, "51-error-engine-down-en")
    first_id = h.svc.flow.s.retry.req_id
    running_engine(hall)
    h.press("retry")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET, timeout=20)
    assert h.svc.flow.s.retry.req_id == first_id
    assert h.svc.flow.s.ticket["number"] == "A001"
    h.until(lambda: h.svc.flow.s.print_state != "printing")
    shot(h, "54-ticket-en")
    # the first, unanswered attempt did not make a ticket of its own: the next one is A002
    h.press("done")
    h.press("zone:Z1")
    h.press("target:M2")
    h.press("next")
    h.press("next")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET, timeout=20)
    assert h.svc.flow.s.ticket["number"] == "A002"


def test_broker_down_at_boot_still_shows_home_with_banner(hall, kiosk):
    from hall.broker import free_port
    h, _ = kiosk(hall, settings=BusSettings(port=free_port()), printer=False)
    assert h.until(lambda: h.svc.flow.engine_online is False)
    shot(h, "52-home-broker-down")
    texts_on_screen = " ".join(w.text for w in h.view.root.walk() if hasattr(w, "text"))
    assert "取号服务暂不可用" in texts_on_screen
    h.press("lang:zh-TW")
    h.press("zone:Z1")
    h.press("target:M1")
    h.press("next")
    h.press("next")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR)
    assert h.svc.flow.s.error == "timeout"
    texts_on_screen = " ".join(w.text for w in h.view.root.walk() if hasattr(w, "text"))
    assert "取號服務暫時無法連線" in texts_on_screen
    shot(h, "53-error-broker-down-tw")


def test_ticket_qr_lookup_cancel_and_search(hall, running_engine, kiosk, bus_client):
    running_engine(hall)
    clerk = Requester(bus_client(hall.hall.id, "clerk"), "window", "W1")
    Requester(bus_client(hall.hall.id, "k9"), "kiosk", "K1").call("issue", {"matter": "M1"})
    clerk.call("login", {"staff": "S01"})
    clerk.call("next", {})
    clerk.call("finish", {})
    h, _ = kiosk(hall)
    h.press("search")
    for k in "SHB":
        h.press(f"key:{k}")
    shot(h, "60-search")
    touch_targets_ok(h)
    h.press("target:M4")
    h.press("next")
    h.press("next")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    qr = ticket_link(h.svc.flow.cfg, h.svc.flow.s.ticket)  # what the printed QR says: id and secret
    h.press("done")
    h.svc.scan(qr)
    assert h.until(lambda: h.svc.flow.screen == S.LOOKUP)
    shot(h, "61-lookup")
    h.press("cancel")
    assert h.until(lambda: h.svc.flow.s.lookup_note == "lookup.cancelled")
    assert h.svc.flow.s.lookup["state"] == "cancelled"
    h.press("home")
    h.svc.press("bundles")   # the small hall shows its only bundle on home; the list is the same screen
    h.step()
    shot(h, "64-bundles")
    touch_targets_ok(h)


def test_cli_starts_and_draws_home(hall, broker, tmp_path):
    import os
    import subprocess
    import sys

    import yaml
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(hall.to_json_dict(), allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, ONEWINDOW_MQTT_PORT=str(broker.port), ONEWINDOW_MQTT_PROTOCOL=broker.settings.protocol,
               SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_HOME=str(tmp_path / "kivy"))
    out = subprocess.run([sys.executable, "-m", "hall.cli", "kiosk", "--config", str(path), "--id", "K3",
                          "--ready-exit"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "home screen shown" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "hall.cli", "kiosk", "--config", str(path), "--id", "NOPE"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "no kiosk 'NOPE'" in bad.stderr


def test_example_hall_screens_fit_and_keep_touch_targets(kiosk):
    """The realistic hall (8 zones, 4 bundles, 69 matters) in both type sizes."""
    from hall.broker import free_port
    from hall.config import load_config
    cfg = load_config(Path(__file__).parent.parent / "config" / "hall.example.yaml")
    h, _ = kiosk(cfg, "K01", settings=BusSettings(port=free_port()), printer=False)
    # the waiting counts the engine's retained zone counts carry
    for i, z in enumerate(cfg.zones):
        h.svc.flow.on_waiting(z.id, {g.prefix: (7 * i + 3) % 23 for g in cfg.groups})
    for elderly in (False, True):
        if elderly:
            h.press("elderly")
            assert h.svc.flow.s.elderly
        tag = "-elderly" if elderly else ""
        shot(h, f"00-example-home{tag}")
        touch_targets_ok(h)
        h.press("zone:Z3")
        shot(h, f"00-example-zone{tag}")
        touch_targets_ok(h)
        h.press("target:M018")
        h.press("answer:loan=yes")
        shot(h, f"00-example-matter{tag}")
        touch_targets_ok(h)
        root = h.view.root
        # a matter's screen fits without scrolling in both type sizes
        assert not h.view.scrolls()
        h.press("home")
        # the longest merged checklist: 开办餐饮店一件事 with every condition met
        h.press("target:B01")
        for a in ("answer:shareholders=company", "answer:agent=agent", "answer:kind=catering"):
            h.press(a)
        shot(h, f"00-example-bundle{tag}")
        under_the_header(h)
        texts = [w for w in root.walk() if hasattr(w, "text") and w.text]
        assert sum("□" in w.text for w in texts) == 10
        reachable_above_the_nav(h, [w for w in texts if "□" in w.text])
        h.press("home")
    h.press("elderly")
    h.step()
    assert h.svc.flow.screen.value == "home" and "staff" in h.view.buttons


def test_ticket_qr_re_queues_a_no_show_and_rates_a_finished_visit(hall, running_engine, kiosk, bus_client):
    running_engine(hall)
    staff_bus = bus_client(hall.hall.id, "staff")
    w5 = Requester(staff_bus, "window", "W5")
    w5.call("login", {"staff": "S01"})
    h, _ = kiosk(hall)
    tickets = []
    for _ in range(2):
        h.press("zone:Z2")
        h.press("target:M4")
        h.press("next")
        h.press("next")
        h.press("take")
        assert h.until(lambda: h.svc.flow.screen == S.TICKET)
        tickets.append(ticket_link(h.svc.flow.cfg, h.svc.flow.s.ticket))
        h.press("done")
    # the first is called and not there: no-show, then re-queued from its QR
    w5.call("next", {})
    w5.call("noshow", {})
    h.svc.scan(tickets[0])
    assert h.until(lambda: h.svc.flow.screen == S.LOOKUP)
    assert h.svc.flow.s.lookup["state"] == "noshow"
    shot(h, "65-lookup-noshow")
    h.press("requeue")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    assert h.svc.flow.s.ticket["state"] == "waiting" and ticket_link(h.svc.flow.cfg, h.svc.flow.s.ticket) == tickets[0]
    h.press("done")
    # the second is served and finished; the citizen rates it later at the kiosk
    w5.call("next", {})
    w5.call("start", {})
    w5.call("finish", {})
    h.svc.scan(tickets[1])
    assert h.until(lambda: h.svc.flow.screen == S.LOOKUP)
    assert h.svc.flow.s.lookup["state"] == "done"
    shot(h, "66-lookup-rate")
    touch_targets_ok(h)
    h.press("rate:5")
    assert h.until(lambda: h.svc.flow.s.lookup_note == "lookup.thanks")
    h.svc.scan(tickets[1])
    assert h.until(lambda: h.svc.flow.screen == S.LOOKUP)
    h.press("rate:4")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR)
    assert h.svc.flow.s.error == "already_rated"


def test_a_long_checklist_goes_to_two_columns_instead_of_off_screen(kiosk):
    from hall.broker import free_port
    mats = [{"id": f"m{i}", "name": {"zh": f"证明材料{i}原件", "en": f"Document {i}"}} for i in range(26)]
    cfg = kiosk_config(guides=[{"target": "M1", "materials": mats}])
    h, _ = kiosk(cfg, "K3", settings=BusSettings(port=free_port()), printer=False)
    h.press("elderly")
    assert h.svc.flow.s.elderly
    h.press("zone:Z1")
    h.press("target:M1")
    shot(h, "67-long-checklist-elderly")
    root = h.view.root
    boxes = [w for w in root.walk() if "□" in getattr(w, "text", "")]
    assert len(boxes) == 26
    assert not h.view.scrolls()  # two columns fit: no scrolling to learn what to bring
    reachable_above_the_nav(h, boxes)
    assert len({round(w.x) for w in boxes}) == 2          # two columns
    touch_targets_ok(h)
