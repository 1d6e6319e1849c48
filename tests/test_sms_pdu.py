"""SMS-SUBMIT PDUs, byte for byte against tests/golden/sms/, and back to the exact text."""

from __future__ import annotations

import pytest

from sms.pdu import (PduError, decode_submit, encode_submit, gsm7_septets, join_parts, pack_septets, part_count,
                     split_septets, split_units)

from .goldens import read_jsonl

CASES = [
    ("called_zh", "13812345678", "【测试行政服务中心】请G006号到5号窗口办理。", 0, None),
    ("near_zh_smsc", "+8613812345678",
     "【测试行政服务中心】您的号码G006前面还有2人，预计17分钟内叫到，请回到社保医保区等候。", 0, "+8613800571500"),
    ("called_en", "13900001111", "[Test Service Hall] Number A001, please go to window 1.", 0, None),
    ("long_zh_3parts", "13812345678", "【西湖区行政服务中心】" + "请携带身份证原件、营业执照副本及相关申请材料到二楼企业开办区办理。" * 4,
     42, None),
    ("exactly_70", "10086", "一" * 70, 0, None),
    ("emoji_boundary", "13812345678", "甲" * 66 + "😀" + "乙" * 10, 7, None),
    ("near_en_gsm7", "13900001111", "[Test Service Hall] G005: 3 ahead of you, about 18 min. "
     "Please come back to Social insurance zone.", 0, None),
    ("long_en_gsm7_escapes", "+8613900001111", "Window {7} [B] costs 5€ | ~ ^ \\ " * 12, 99, None),
]


def render_cases() -> list[dict]:
    out = []
    for name, phone, text, ref, smsc in CASES:
        parts = encode_submit(phone, text, ref, smsc)
        out.append({"name": name, "phone": phone, "text": text,
                    "parts": [{"cmgs": p.tpdu_len, "pdu": p.hex} for p in parts]})
    return out


def test_pdus_match_golden_file():
    assert render_cases() == read_jsonl("sms/pdus.jsonl")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_decoded_back_to_the_exact_text(case):
    name, phone, text, ref, smsc = case
    parts = [decode_submit(p.hex) for p in encode_submit(phone, text, ref, smsc)]
    assert join_parts(parts) == text
    assert {p.number for p in parts} == {phone}
    assert {p.dcs for p in parts} == {0x00 if "gsm7" in name or name == "called_en" else 0x08}
    assert [p.seq for p in parts] == list(range(1, len(parts) + 1))
    if len(parts) > 1:
        assert {(p.ref, p.total) for p in parts} == {(ref, len(parts))}
    if smsc:
        assert parts[0].smsc == smsc


def test_field_layout_of_a_one_part_message():
    [p] = encode_submit("+46708251358", "你好")
    # SMSC from SIM | SUBMIT+VPF | MR | 11 digits, international, swapped BCD | PID | UCS2 | 24 h | 4 octets
    assert p.hex == "00" "11" "00" "0B" "91" "6407281553F8" "00" "08" "A7" "04" "4F60597D"
    assert p.tpdu_len == (len(p.hex) - 2) // 2


def test_part_sizes_70_then_67_and_no_split_surrogates():
    assert [len(c) // 2 for c in split_units("字" * 70)] == [70]
    assert [len(c) // 2 for c in split_units("字" * 71)] == [67, 4]
    chunks = split_units("甲" * 66 + "😀" + "乙" * 10)  # the pair would straddle units 67/68
    assert [len(c) // 2 for c in chunks] == [66, 12]
    for p in encode_submit("13812345678", "字" * 300):
        assert p.tpdu_len == 14 + 140 or p.seq == p.total  # 14 header octets + at most 140 of user data
        assert p.tpdu_len <= 14 + 140


def test_bad_numbers_and_bytes_are_refused():
    for bad in ("", "12", "138-1234", "+", "1" * 21):
        with pytest.raises(PduError):
            encode_submit(bad, "x")
    with pytest.raises(PduError):
        encode_submit("13812345678", "")
    with pytest.raises(PduError):
        decode_submit("0011zz")
    with pytest.raises(PduError):
        decode_submit("001100")


def test_gsm7_packing_matches_the_classic_example():
    # the "hellohello" SMS-SUBMIT of every PDU-mode tutorial, with a 24 h validity period
    [p] = encode_submit("+46708251358", "hellohello")
    assert pack_septets(gsm7_septets("hellohello")).hex().upper() == "E8329BFD4697D9EC37"
    assert p.hex == "0011000B916407281553F80000A70AE8329BFD4697D9EC37"


def test_gsm7_only_when_every_character_fits():
    assert gsm7_septets("Window 5, please") is not None
    assert gsm7_septets("€[]") == [0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E]
    assert gsm7_septets("请到5号窗口") is None and gsm7_septets("a，b") is None  # full-width comma
    assert [part_count(t) for t in ("a" * 160, "a" * 161, "€" * 80, "€" * 81, "字" * 70, "字" * 71)] == [
        1, 2, 1, 2, 1, 2]
    # 152 plain septets then an escape pair: the pair moves whole to part two
    parts = split_septets(gsm7_septets("a" * 152 + "€" + "a" * 10))
    assert [len(x) for x in parts] == [152, 12] and parts[1][:2] == [0x1B, 0x65]
