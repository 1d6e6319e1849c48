"""SMS-SUBMIT PDUs (3GPP TS 23.040) in UCS2, for modems in PDU mode (AT+CMGF=0).

Pure functions, no I/O.  Chinese needs UCS2 (TP-DCS 0x08): 140 octets carry
70 UTF-16 units; a longer text is split into parts of 67 units behind a
concatenation header (UDH ``05 00 03 <ref> <total> <seq>``, 8-bit reference),
which phones join back into one message.  A text made only of characters of
the GSM 7-bit default alphabet (TS 23.038, with its escape table) goes as
7-bit (TP-DCS 0x00): 160 characters in one part, 153 per part when
concatenated — an English reminder of 100 characters is one SMS, not two.
Anything else (Chinese, a full-width comma) makes the whole message UCS2, so
no character can ever turn into ``?``.

A character outside the BMP (an emoji in a comment, a rare 𠮷) is two UTF-16
units; a part boundary never splits such a pair.

``decode_submit`` is the inverse, used by the fake modem and the tests to turn
recorded PDUs back into the exact text.
"""

from __future__ import annotations

from dataclasses import dataclass

UCS2_SINGLE = 70  # UTF-16 units in a one-part message
UCS2_PART = 67  # per part behind a 6-octet concatenation header
GSM7_SINGLE = 160  # septets in a one-part message
GSM7_PART = 153  # per part: the 6-octet header takes 7 septets (48 bits + 1 fill bit)

# TS 23.038 §6.2.1: the default alphabet (index = septet) and its escape table (after 0x1B)
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
            "|": 0x40, "€": 0x65}
_G7 = {c: i for i, c in enumerate(GSM7_BASIC) if i != 0x1B}
_G7_BACK = dict(enumerate(GSM7_BASIC))
_G7_EXT_BACK = {v: k for k, v in GSM7_EXT.items()}
MAX_PARTS = 255
VP_24H = 0xA7  # relative validity: 167 → 24 hours


class PduError(ValueError):
    """A number or text that cannot become a PDU, or bytes that are not one."""


@dataclass(frozen=True)
class Part:
    hex: str  # the whole PDU for AT+CMGS, SMSC part included
    tpdu_len: int  # octets after the SMSC part: the number AT+CMGS=<n> wants
    seq: int
    total: int


def _semi_octets(digits: str) -> str:
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def _address(number: str) -> tuple[str, int]:
    """(type of address, digits) for a phone number; ``+`` means international (0x91)."""
    intl = number.startswith("+")
    digits = number[1:] if intl else number
    if not digits.isdigit() or not 3 <= len(digits) <= 20:
        raise PduError("a phone number must be 3–20 digits, optionally after +")
    return (0x91 if intl else 0x81), digits


def _smsc(smsc: str | None) -> str:
    if not smsc:
        return "00"  # use the SMSC stored on the SIM
    toa, digits = _address(smsc)
    body = f"{toa:02X}" + _semi_octets(digits)
    return f"{len(body) // 2:02X}" + body


def gsm7_septets(text: str) -> list[int] | None:
    """The text as default-alphabet septets (escape pairs for ``{ } [ ] € …``), or
    None if any character is outside the alphabet."""
    out: list[int] = []
    for ch in text:
        v = _G7.get(ch)
        if v is not None:
            out.append(v)
        elif ch in GSM7_EXT:
            out += [0x1B, GSM7_EXT[ch]]
        else:
            return None
    return out


def split_septets(septets: list[int]) -> list[list[int]]:
    if len(septets) <= GSM7_SINGLE:
        return [septets]
    parts, i = [], 0
    while i < len(septets):
        j = min(len(septets), i + GSM7_PART)
        k = i
        while k < j:  # never split an escape pair (0x1B + its character)
            k += 2 if septets[k] == 0x1B else 1
        if k > j:
            j -= 1
        parts.append(septets[i:j])
        i = j
    if len(parts) > MAX_PARTS:
        raise PduError(f"text too long: {len(parts)} parts")
    return parts


def pack_septets(septets: list[int], fill: int = 0) -> bytes:
    """Septets packed LSB first after ``fill`` zero bits (fill aligns them behind a UDH)."""
    acc = 0
    for i, v in enumerate(septets):
        acc |= (v & 0x7F) << (fill + 7 * i)
    nbits = fill + 7 * len(septets)
    return acc.to_bytes((nbits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, fill: int = 0) -> list[int]:
    acc = int.from_bytes(data, "little")
    return [(acc >> (fill + 7 * i)) & 0x7F for i in range(count)]


def gsm7_text(septets: list[int]) -> str:
    out, esc = [], False
    for v in septets:
        if esc:
            out.append(_G7_EXT_BACK.get(v, " "))
            esc = False
        elif v == 0x1B:
            esc = True
        else:
            out.append(_G7_BACK[v])
    return "".join(out)


def split_units(text: str) -> list[bytes]:
    """UTF-16-BE chunks: one part up to 70 units, else parts of ≤ 67 units."""
    data = text.encode("utf-16-be")
    units = len(data) // 2
    if units <= UCS2_SINGLE:
        return [data]
    parts, i = [], 0
    while i < units:
        j = min(units, i + UCS2_PART)
        if j < units:
            last = int.from_bytes(data[2 * j - 2:2 * j], "big")
            if 0xD800 <= last <= 0xDBFF:  # never cut between a surrogate pair
                j -= 1
        parts.append(data[2 * i:2 * j])
        i = j
    if len(parts) > MAX_PARTS:
        raise PduError(f"text too long: {len(parts)} parts")
    return parts


def encode_submit(number: str, text: str, concat_ref: int = 0, smsc: str | None = None,
                  status_report: bool = False) -> list[Part]:
    """The PDUs of one message; ``concat_ref`` (0–255) ties the parts together."""
    if not text:
        raise PduError("empty text")
    toa, digits = _address(number)
    septets = gsm7_septets(text)
    chunks: list = split_septets(septets) if septets is not None else split_units(text)
    dcs = 0x00 if septets is not None else 0x08
    total = len(chunks)
    sca = _smsc(smsc)
    out = []
    for seq, chunk in enumerate(chunks, 1):
        first = 0x01 | 0x10  # SMS-SUBMIT, relative validity period
        udh = b""
        if total > 1:
            first |= 0x40  # TP-UDHI: user data starts with a header
            udh = bytes([0x05, 0x00, 0x03, concat_ref & 0xFF, total, seq])
        if status_report:
            first |= 0x20
        if dcs == 0x00:
            fill = (7 - (len(udh) * 8) % 7) % 7
            ud = udh + pack_septets(chunk, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(chunk)  # counted in septets
        else:
            ud = udh + chunk
            udl = len(ud)
        tpdu = (f"{first:02X}" "00"  # TP-MR: the modem fills in the reference
                f"{len(digits):02X}{toa:02X}{_semi_octets(digits)}"
                f"00{dcs:02X}{VP_24H:02X}"  # TP-PID, TP-DCS (0x00 7-bit, 0x08 UCS2), TP-VP
                f"{udl:02X}" + ud.hex().upper())
        out.append(Part(hex=sca + tpdu, tpdu_len=len(tpdu) // 2, seq=seq, total=total))
    return out


@dataclass(frozen=True)
class Decoded:
    smsc: str | None
    number: str
    text: str  # this part's text
    ref: int | None
    total: int
    seq: int
    dcs: int
    status_report: bool


def _unswap(s: str, n_digits: int) -> str:
    out = "".join(s[i + 1] + s[i] for i in range(0, len(s), 2))
    return out[:n_digits]


def decode_submit(pdu_hex: str) -> Decoded:
    """Parse one SMS-SUBMIT PDU (with its SMSC part) as written to AT+CMGS."""
    try:
        b = bytes.fromhex(pdu_hex)
    except ValueError as e:
        raise PduError(f"not hex: {e}") from None
    try:
        i = 0
        sl = b[i]
        i += 1
        smsc = None
        if sl:
            toa = b[i]
            smsc = ("+" if toa == 0x91 else "") + _unswap(b[i + 1:i + sl].hex().upper(), 2 * (sl - 1)).rstrip("F")
        i += sl
        first = b[i]
        if first & 0x03 != 0x01:
            raise PduError("not an SMS-SUBMIT")
        i += 2  # first octet, TP-MR
        nd = b[i]
        toa = b[i + 1]
        no = (nd + 1) // 2
        number = ("+" if toa == 0x91 else "") + _unswap(b[i + 2:i + 2 + no].hex().upper(), nd)
        i += 2 + no
        i += 1  # PID
        dcs = b[i]
        i += 1
        vpf = (first >> 3) & 0x03
        i += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
        udl = b[i]
        i += 1
        seven = dcs & 0x0C == 0x00
        octets = (udl * 7 + 7) // 8 if seven else udl
        ud = b[i:i + octets]
        if len(ud) != octets:
            raise PduError("user data shorter than TP-UDL")
    except IndexError:
        raise PduError("PDU too short") from None
    if dcs & 0x0C not in (0x00, 0x08):
        raise PduError(f"DCS {dcs:#04x} is neither 7-bit nor UCS2")
    ref, total, seq = None, 1, 1
    hl = 0
    if first & 0x40:
        hl = ud[0] + 1
        hdr = ud[1:hl]
        j = 0
        while j + 1 < len(hdr):
            iei, ln = hdr[j], hdr[j + 1]
            if iei == 0x00 and ln == 3:
                ref, total, seq = hdr[j + 2], hdr[j + 3], hdr[j + 4]
            j += 2 + ln
    if seven:
        fill = (7 - (hl * 8) % 7) % 7
        count = udl - (hl * 8 + fill) // 7
        text = gsm7_text(unpack_septets(ud[hl:], count, fill))
    else:
        text = ud[hl:].decode("utf-16-be", errors="surrogatepass")
    return Decoded(smsc=smsc, number=number, text=text, ref=ref, total=total, seq=seq, dcs=dcs,
                   status_report=bool(first & 0x20))


def join_parts(parts: list[Decoded]) -> str:
    """The text of a message from its decoded parts (any order)."""
    raw = b"".join(p.text.encode("utf-16-be", errors="surrogatepass")
                   for p in sorted(parts, key=lambda p: p.seq))
    return raw.decode("utf-16-be")


def part_count(text: str) -> int:
    """How many SMS parts ``text`` takes (what a gateway bills)."""
    septets = gsm7_septets(text)
    return len(split_septets(septets)) if septets is not None else len(split_units(text))
