"""Ticket printing: golden ESC/POS bytes per printer profile, GB18030, status via a fake printer on a pty.

Regenerate the golden files after an intended change with ``make goldens`` and
look at the diff (``tests/golden/kiosk/*.txt`` holds a readable dump).
"""

from __future__ import annotations

import os
import select
import time

import pytest

from hall.config.kiosk import PrinterConfig
from kiosk.fake_printer import FakePrinter
from kiosk.printer import (EscposTicketPrinter, PrintError, parse_status, profile_info, render_bytes)
from kiosk.ticket_layout import Line, Qr, layout, width, wrap

from .goldens import read_bytes, read_text
from .test_kiosk_flow import TICKET, kiosk_config

CASES = {
    # name: (profile, qr, ticket overrides, target, answers, lang, phone)
    "tm-t20ii_matter_zh": ("TM-T20II", "auto", {}, "M1", {"agent": "agent"}, "zh-CN", "13800138000"),
    "pos-5890_bundle_elderly_zh": ("POS-5890", "auto",
                                   {"matter": None, "bundle": "B1", "number": "Y007", "ticket": "20261121-Y007",
                                    "priority": "elderly"}, "B1", {"agent": "self", "kind": "catering"},
                                   "zh-CN", None),
    "tm-t20ii_green_en": ("TM-T20II", "auto", {"priority": "green", "number": "A002", "ticket": "20261121-A002"},
                          "M1", {"agent": "self"}, "en", None),
    "tm-t20ii_image_qr_appointment_tw": ("TM-T20II", "image",
                                         {"priority": "appointment", "matter": "M5", "zone": "Z2",
                                          "number": "G012", "ticket": "20261121-G012", "windows": ["5", "7"]},
                                         "M5", {}, "zh-TW", None),
    # a hall with a public ticket page: the QR is a link with the ticket's secret, also printed as text
    "tm-t20ii_link_zh": ("TM-T20II", "auto", {"secret": "k7Qm2xWp"}, "M1", {"agent": "agent"}, "zh-CN", None),
    "pos-5890_link_no_secret_en": ("POS-5890", "auto", {}, "M1", {"agent": "self"}, "en", None),
}
PUBLIC_URL = "https://xh.zwfw.example.cn/q"


def case_config(name):
    cfg = kiosk_config()
    if "_link" in name:
        cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"public_url": PUBLIC_URL})})
    return cfg


def _doc(name):
    profile, qr, over, target, answers, lang, phone = CASES[name]
    cfg = case_config(name)
    pc = PrinterConfig(type="serial", profile=profile, qr=qr, number_scale=3 if profile == "POS-5890" else 4)
    doc = layout(cfg, dict(TICKET, **over), target=target, answers=answers, lang=lang, phone=phone,
                 cols=profile_info(profile)["cols"], number_scale=pc.number_scale)
    return doc, pc


def _dump(doc) -> str:
    out = []
    for it in doc.items:
        if isinstance(it, Line):
            out.append(f"{'C' if it.align == 'center' else 'L'}{'B' if it.bold else ' '}x{it.scale} {it.text}")
        elif isinstance(it, Qr):
            out.append(f"[QR {it.data}]")
        else:
            out.append("-" * 20)
    return "\n".join(out) + "\n"


def render_case(name) -> tuple[bytes, str]:
    """The ticket's ESC/POS bytes and its readable dump (what tests/golden/kiosk/ holds)."""
    doc, pc = _doc(name)
    return render_bytes(doc, pc), _dump(doc)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ticket_bytes(name):
    data, dump = render_case(name)
    assert data == read_bytes(f"kiosk/{name}.bin")
    assert dump == read_text(f"kiosk/{name}.txt")


def test_ticket_starts_with_init_and_chinese_mode_and_encodes_gb18030():
    doc, pc = _doc("tm-t20ii_matter_zh")
    data = render_bytes(doc, pc)
    assert data.startswith(b"\x1b@\x1c&")
    assert "前面还有 3 人".encode("gb18030") in data
    # full-width punctuation alone prints as itself, never as '?'
    assert "办理窗口：1、2 号".encode("gb18030") in data
    assert "□ 授权委托书".encode("gb18030") in data
    assert b"?" not in data.replace(b"\x1d(k", b"")  # no replacement characters anywhere
    assert "（全体股东签字）".encode("gb18030") in data


def test_native_qr_is_small_and_carries_the_ticket_id():
    native = render_bytes(*_doc("tm-t20ii_matter_zh"))
    image = render_bytes(*_doc("tm-t20ii_image_qr_appointment_tw"))
    assert b"\x1d(k" in native and b"20261121-A001" in native
    assert b"\x1d(k" not in image and b"\x1dv0" in image     # raster image instead
    assert len(image) - len(native) > 3000


def test_58mm_profile_without_native_qr_sends_an_image_and_feeds_instead_of_cutting():
    data = render_bytes(*_doc("pos-5890_bundle_elderly_zh"))
    assert b"\x1d(k" not in data and b"\x1dv0" in data
    assert data.endswith(b"\x1bd\x05")
    assert "优先：老年人".encode("gb18030") in data
    assert "□ 经营场所平面图".encode("gb18030") in data


def test_checklist_wraps_at_the_paper_edge():
    for line in wrap("□ 卖方结婚证及配偶身份证、户口簿、婚姻关系证明材料原件及复印件", 32, indent=3):
        assert width(line) <= 32
    assert width("A：中") == 5


@pytest.mark.parametrize("printer,paper,state", [
    (b"\x12", b"\x12", "ok"),
    (b"\x12", b"\x1e", "near_end"),
    (b"\x1a", b"\x72", "paper_out"),
    (b"\x1a", b"\x12", "offline"),
    (None, None, "unknown"),
    (b"\xff", None, "unknown"),           # garbage is not "OK" either
])
def test_parse_status(printer, paper, state):
    assert parse_status(printer, paper).state == state


@pytest.fixture
def fake_printer():
    made = []

    def make(paper="ok", **cfg):
        fp = FakePrinter(paper).start()
        # generous for a reply (a loaded CI box), short for the silent fake
        pc = PrinterConfig(type="serial", device=fp.path, profile="TM-T20II",
                           status_timeout_s=0.3 if paper == "silent" else 2.0, **cfg)
        p = EscposTicketPrinter(pc)
        made.append((p, fp))
        return p, fp
    yield make
    for p, fp in made:
        p.close()
        fp.stop()


def _take_until(fp: FakePrinter, want: bytes, timeout: float = 5.0) -> bytes:
    """What the fake received, once it holds ``want`` (or the timeout passed)."""
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end and want not in data:
        data += fp.take()
        time.sleep(0.01)
    return data


@pytest.mark.parametrize("paper,state,prints", [
    ("ok", "ok", True), ("near_end", "near_end", True), ("out", "paper_out", False),
    ("offline", "offline", False), ("silent", "unknown", False),
])
def test_fake_printer_status_and_print(fake_printer, paper, state, prints):
    p, fp = fake_printer(paper)
    assert p.status().state == state
    doc, _ = _doc("tm-t20ii_matter_zh")
    ticket = render_bytes(doc, p.cfg)
    if prints:
        p.print(doc)
        assert _take_until(fp, ticket) == ticket
        assert fp.queries[:2] == [b"\x10\x04\x01", b"\x10\x04\x04"]
    else:
        with pytest.raises(PrintError) as e:
            p.print(doc)
        assert state in e.value.reason
        # barrier: refill, print once more, wait for that ticket; then exactly one ticket
        # came through, so the refused print sent nothing
        fp.paper = "ok"
        p.print(doc)
        assert _take_until(fp, ticket) == ticket


def test_silent_printer_prints_when_configured_to(fake_printer):
    p, fp = fake_printer("silent", print_when_unknown=True)
    doc, _ = _doc("tm-t20ii_matter_zh")
    assert p.status().state == "unknown"
    p.print(doc)  # raises PrintError unless print_when_unknown is honoured
    ticket = render_bytes(doc, p.cfg)
    assert _take_until(fp, ticket) == ticket


def test_missing_device_is_offline_not_a_crash():
    p = EscposTicketPrinter(PrinterConfig(type="serial", device="/dev/does-not-exist", status_timeout_s=0.1))
    st = p.status()
    assert st.state == "offline" and "cannot open" in st.detail["reason"]
    with pytest.raises(PrintError):
        p.print(_doc("tm-t20ii_matter_zh")[0])


def test_printer_recovers_when_paper_is_refilled(fake_printer):
    p, fp = fake_printer("out")
    assert p.status().state == "paper_out"
    fp.paper = "ok"
    assert p.status().state == "ok"


def test_fake_printer_answers_gs_r_and_keeps_other_bytes():
    with FakePrinter("near_end") as fp:
        fd = os.open(fp.path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"AB\x1dr\x01\x10\x04\x04CD\x1d!\x11")
            got = b""
            while len(got) < 2:
                r, _, _ = select.select([fd], [], [], 2)
                assert r, "no status reply"
                got += os.read(fd, 16)
            assert got == b"\x03\x1e"
        finally:
            os.close(fd)
        assert _take_until(fp, b"ABCD\x1d!\x11") == b"ABCD\x1d!\x11"


@pytest.mark.parametrize("paper,state", [("ok", "ok"), ("out", "paper_out"), ("silent", "unknown")])
def test_network_printer_against_the_fake_on_tcp(paper, state):
    with FakePrinter(paper, tcp=True) as fp:
        p = EscposTicketPrinter(PrinterConfig(type="network", device=fp.address, profile="TM-T20II",
                                              status_timeout_s=0.3 if paper == "silent" else 2.0))
        try:
            assert p.status().state == state
            doc, _ = _doc("tm-t20ii_matter_zh")
            if state == "ok":
                p.print(doc)
                ticket = render_bytes(doc, p.cfg)
                assert _take_until(fp, ticket) == ticket
            else:
                with pytest.raises(PrintError):
                    p.print(doc)
        finally:
            p.close()


def test_the_qr_links_to_the_public_ticket_page_with_the_secret_and_prints_it_as_text():
    doc, _ = _doc("tm-t20ii_link_zh")
    qr = next(it for it in doc.items if isinstance(it, Qr))
    assert qr.data == f"{PUBLIC_URL}/t/20261121-A001?s=k7Qm2xWp"
    lines = [it.text for it in doc.items if isinstance(it, Line)]
    assert "".join(lines).count(f"{PUBLIC_URL}/t/20261121-A001?s=k7Qm2xWp") == 1  # wrapped at the edge
    assert "查询码 k7Qm2xWp" in lines
    # without a secret from the engine yet: the link to the page, no code line
    doc, _ = _doc("pos-5890_link_no_secret_en")
    assert next(it for it in doc.items if isinstance(it, Qr)).data == f"{PUBLIC_URL}/t/20261121-A001"
    assert not any(x.startswith("Code") for x in (it.text for it in doc.items if isinstance(it, Line)))


def test_a_kiosk_reads_the_link_and_the_bare_id_alike():
    from kiosk.ticket_layout import parse_ticket_qr
    cfg = case_config("tm-t20ii_link_zh")
    assert parse_ticket_qr(cfg, f"{PUBLIC_URL}/t/20261121-A001?s=k7Qm2xWp") == ("20261121-A001", "k7Qm2xWp")
    assert parse_ticket_qr(cfg, "20261121-A001") == ("20261121-A001", None)
    assert parse_ticket_qr(cfg, "20261121-A001.0a1b2c3d4e5f6789") == ("20261121-A001", "0a1b2c3d4e5f6789")
    assert parse_ticket_qr(cfg, "20261121-A001.NOT-HEX") is None
    assert parse_ticket_qr(cfg, "https://evil.example/t/20261121-A001") is None
    assert parse_ticket_qr(cfg, f"{PUBLIC_URL}/t/../../etc") is None
