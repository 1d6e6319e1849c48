"""OWB/1 and FF-68 codecs: CRC, golden frames, byte-at-a-time parsing, resync after garbage;
the MicroPython firmware's codec against the same golden frames."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from firmware_bridge import frames as F
from firmware_bridge import legacy68 as L

from .goldens import read_jsonl

ROOT = Path(__file__).parent.parent


def owb_cases() -> list[dict]:
    """name → (addr, cmd, seq, reply, payload): every frame kind of docs/hardware.md."""
    c = [
        ("ping", 1, F.PING, 1, False, b""),
        ("info_ledbar_fresh", 1, F.INFO, 1, True, bytes((F.KIND_LEDBAR, 1, 0, 0x01))),
        ("poll_noack", 2, F.POLL, 2, False, b"\x00"),
        ("poll_ack7", 2, F.POLL, 3, False, b"\x07"),
        ("ack_reply", 2, F.ACK, 2, True, b"\x00"),
        ("event_next", 2, F.EVENT, 2, True, F.event_payload(7, "next")),
        ("event_login_1234", 2, F.EVENT, 4, True, F.event_payload(8, "login", b"1234")),
        ("event_transfer_3", 2, F.EVENT, 5, True, F.event_payload(9, "transfer", b"3")),
        ("event_rate_5", 3, F.EVENT, 6, True, F.event_payload(1, "rate", b"\x05")),
        ("event_rate_timeout", 3, F.EVENT, 7, True, F.event_payload(2, "rate_timeout")),
        ("led_call", 1, F.LED_TEXT, 8, False, F.led_payload(["A023 请到5号窗口".encode("gb2312")])),
        ("led_recall_2lines", 1, F.LED_TEXT, 9, False,
         F.led_payload(["A023 请到5号窗口".encode("gb2312"), "等候 12 人".encode("gb2312")], flash_s=8)),
        ("keypad_show", 2, F.KEYPAD_SHOW, 10, False, F.keypad_payload("open", 12, "A023")),
        ("eval_prompt", 3, F.EVAL_PROMPT, 11, False, F.prompt_payload(30, "A023")),
        ("eval_cancel", 3, F.EVAL_CANCEL, 12, False, b""),
        ("nak_unknown", 3, F.NAK, 13, True, bytes((F.NAK_UNKNOWN_CMD,))),
    ]
    return [dict(name=n, addr=a, cmd=cmd, seq=s, reply=r, payload=p.hex(),
                 frame=F.encode(a, cmd, p, seq=s, reply=r).hex()) for n, a, cmd, s, r, p in c]


def legacy_cases() -> list[dict]:
    c = [
        ("poll", 5, L.POLL, b""),
        ("poll_ack_call", 5, L.POLL, b"\x0c"),
        ("nothing", 5, L.NOTHING, b""),
        ("key_call", 5, 0x0C, b""),
        ("key_recall", 5, 0x0D, b""),
        ("key_pause", 5, 0x12, b""),
        ("key_transfer_3", 5, 0x13, b"3"),
        ("key_login_1234", 5, 0x10, b"1234"),
        ("show_A023_12", 5, L.SHOW, b"\x0cA023"),
        ("evaluate_30", 6, L.EVALUATE, b"\x1e"),
        ("evaluate_ack", 6, L.EVALUATE | L.ACK_BIT, b""),
        ("rate_very_satisfied", 6, L.EVALUATE, b"\x01"),
        ("rate_timeout", 6, L.EVALUATE, b"\x00"),
    ]
    return [dict(name=n, addr=a, func=f, data=d.hex(), frame=L.encode(a, f, d).hex()) for n, a, f, d in c]


def _golden(name: str) -> list[dict]:
    return read_jsonl(f"bridge/{name}")


def test_crc16_ccitt_false_check_value():
    assert F.crc16(b"123456789") == 0x29B1


def test_owb_frames_match_golden():
    assert owb_cases() == _golden("owb_frames.jsonl")


def test_legacy_frames_match_golden():
    assert legacy_cases() == _golden("legacy68_frames.jsonl")


def test_known_bytes_of_a_call_frame():
    # pinned by hand so that the golden file cannot drift with the code
    raw = F.encode(1, F.PING, seq=1)
    assert raw[:5] == bytes.fromhex("7e01010100") and len(raw) == 7
    assert L.encode(5, 0x0C) == bytes.fromhex("ff68020268050c1116")


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_owb_parser_any_chunking(chunk):
    cases = _golden("owb_frames.jsonl")
    stream = b"".join(bytes.fromhex(c["frame"]) for c in cases)
    p = F.FrameParser()
    got = []
    for i in range(0, len(stream), chunk):
        got += p.feed(stream[i:i + chunk])
    assert [(f.addr, f.cmd, f.seq, f.reply, f.payload.hex()) for f in got] == [
        (c["addr"], c["cmd"], c["seq"], c["reply"], c["payload"]) for c in cases]
    assert p.dropped == 0


def test_owb_parser_resyncs_after_garbage():
    rng = random.Random(7)
    cases = _golden("owb_frames.jsonl")
    stream = bytearray()
    for c in cases:
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 20)))
        stream += noise + bytes.fromhex(c["frame"])
    stream += b"\x7e\x01"  # a frame cut off by a reset: waits, harms nothing
    p = F.FrameParser()
    got = [f for b in stream for f in p.feed(bytes((b,)))]
    assert [f.encode().hex() for f in got] == [c["frame"] for c in cases]
    assert p.dropped > 0


def test_owb_corrupt_frame_is_dropped_and_next_one_kept():
    good = F.encode(2, F.POLL, b"\x00", seq=3)
    bad = bytearray(good)
    bad[5] ^= 0xFF
    p = F.FrameParser()
    assert p.feed(bytes(bad) + good) == [F.decode(good)]
    # a false start with an absurd length byte
    assert p.feed(b"\x7e\x01\x01\x01\xff" + good) == [F.decode(good)]


def test_owb_encode_refuses_bad_values():
    with pytest.raises(F.FrameError):
        F.encode(248, F.PING)
    with pytest.raises(F.FrameError):
        F.encode(1, F.LED_TEXT, bytes(201))
    with pytest.raises(F.FrameError):
        F.parse_event(bytes((1, 0x77)))


def test_payload_round_trips():
    assert F.parse_keypad_payload(F.keypad_payload("paused", 300, "G105")) == ("paused", 300, "G105")
    assert F.parse_prompt_payload(F.prompt_payload(30, "A023")) == (30, "A023")
    flags, flash, lines = F.parse_led_payload(F.led_payload([b"ab", b"cd"], flash_s=3, scroll=True))
    assert (flags, flash, lines) == (F.LED_FLASH | F.LED_SCROLL, 3, [b"ab", b"cd"])


@pytest.mark.parametrize("chunk", [1, 1000])
def test_legacy_parser_chunking_and_garbage(chunk):
    cases = _golden("legacy68_frames.jsonl")
    rng = random.Random(3)
    stream = bytearray()
    for c in cases:
        stream += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 9))) + bytes.fromhex(c["frame"])
    p = L.LegacyParser()
    got = []
    for i in range(0, len(stream), chunk):
        got += p.feed(bytes(stream[i:i + chunk]))
    assert [(f.addr, f.func, f.data.hex()) for f in got] == [(c["addr"], c["func"], c["data"]) for c in cases]


def test_legacy_checksum_and_end_byte_checked():
    good = L.encode(5, 0x0C)
    p = L.LegacyParser()
    assert p.feed(good[:-2] + b"\x00\x16" + good) == [L.decode(good[1:])]
    assert p.feed(good[:-1] + b"\x17" + good) == [L.decode(good[1:])]
    assert L.legacy_level(1) == 5 and L.legacy_level(5) == 1 and L.legacy_level(0) is None


# ------------------------------------------------- the reference firmware ---

def _firmware_proto():
    spec = importlib.util.spec_from_file_location("fw_owproto", ROOT / "firmware" / "owproto.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_firmware_codec_matches_golden_frames():
    fw = _firmware_proto()
    cases = _golden("owb_frames.jsonl")
    assert fw.crc16(b"123456789") == 0x29B1
    parser = fw.Parser()
    for c in cases:
        raw = bytes.fromhex(c["frame"])
        assert bytes(fw.encode(c["addr"], c["cmd"], bytes.fromhex(c["payload"]), c["seq"], c["reply"])) == raw
        got = [fr for b in b"\x55\x00" + raw for fr in [parser.feed(b)] if fr is not None]
        assert len(got) == 1
        addr, ctrl, cmd, payload = got[0]
        assert (addr, cmd, ctrl & 0x0F, bool(ctrl & 0x80), bytes(payload).hex()) == (
            c["addr"], c["cmd"], c["seq"], c["reply"], c["payload"])


def test_firmware_keypad_answers_polls_like_the_golden_frames():
    """The firmware's device logic, driven by golden controller frames."""
    fw = _firmware_proto()
    dev = fw.Device(address=2, kind=fw.KIND_KEYPAD)
    cases = {c["name"]: c for c in _golden("owb_frames.jsonl")}
    dev.queue_key(0x01)  # next
    poll = F.decode(bytes.fromhex(cases["poll_noack"]["frame"]))
    reply = F.decode(bytes(dev.handle(poll.addr, poll.seq, poll.cmd, poll.payload)))
    assert reply.cmd == F.EVENT and F.parse_event(reply.payload)[1] == "next" and reply.seq == poll.seq
    eid = reply.payload[0]
    ack = dev.handle(2, 4, F.POLL, bytes((eid,)))
    assert F.decode(bytes(ack)).cmd == F.ACK
    show = F.decode(bytes.fromhex(cases["keypad_show"]["frame"]))
    assert F.decode(bytes(dev.handle(show.addr, show.seq, show.cmd, show.payload))).cmd == F.ACK
    assert dev.display == ("open", 12, "A023")
    assert dev.handle(9, 1, F.PING, b"") is None  # not its address


def test_parsers_survive_random_bytes():
    """Noise only: never an exception, and whatever comes out passed its CRC/checksum."""
    rng = random.Random(99)
    noise = bytes(rng.randrange(256) for _ in range(20000)) + bytes([0x7E, 0x68]) * 50
    p = F.FrameParser()
    for i in range(0, len(noise), 7):
        for fr in p.feed(noise[i:i + 7]):
            assert F.check_packet(fr.encode()) == len(fr.encode())
    lp = L.LegacyParser()
    for i in range(0, len(noise), 5):
        lp.feed(noise[i:i + 5])
    # a false start may swallow up to 207 bytes (a max-length frame) before its CRC
    # fails; the controller's retransmission then gets through
    good = F.encode(3, F.POLL, b"\x00", seq=2)
    stream = noise + good + bytes(210) + good
    fw = _firmware_proto().Parser()
    got = [fr for b in stream for fr in [fw.feed(b)] if fr is not None]
    assert got and got[-1] == (3, 2, F.POLL, b"\x00")
    assert F.FrameParser().feed(stream)[-1] == F.decode(good)


def test_a_false_start_does_not_hold_back_the_frame_behind_it():
    good = F.encode(2, F.EVENT, F.event_payload(4, "next"), seq=5, reply=True)
    p = F.FrameParser()
    # noise that looks like the start of a 200-byte frame, then the real reply
    assert p.feed(b"\x7e\x09\x81\x82\xc8\x13" + good) == [F.decode(good)]
    assert p.feed(good) == [F.decode(good)]  # and the parser is clean afterwards
