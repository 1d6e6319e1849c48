"""SMS-SUBMIT PDUs (3GPP TS 23.040) in UCS2, for modems in PDU mode (AT+CMGF=0).

Pure functions, no I/O.  Chinese needs UCS2 (TP-DCS 0x08): 140 octets carry
70 UTF-16 units; a longer text is split into parts of 67 units behind a
concatenation header (UDH ``05 00 03 <ref> <total> <seq>``, 8-bit reference),
which phones join back into one message.  English texts are sent in UCS2 too:
one code path, and the rare ``€`` or full-width comma in a template cannot
turn into ``?`` as it would in the GSM 7-bit alphabet.

A character outside the BMP (an emoji in a comment, a rare 𠮷) is two UTF-16
units; a part boundary never splits such a pair.

``decode_submit`` is the inverse, used by the fake modem and the tests to turn
recorded PDUs back into the exact text.
"""

from __future__ import annotations

from dataclasses import dataclass

UCS2_SINGLE = 70  # UTF-16 units in a one-part message
UCS2_PART = 67  # per part behind a 6-octet concatenation header
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
    chunks = split_units(text)
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
        ud = udh + chunk
        tpdu = (f"{first:02X}" "00"  # TP-MR: the modem fills in the reference
                f"{len(digits):02X}{toa:02X}{_semi_octets(digits)}"
                "00" "08" f"{VP_24H:02X}"  # TP-PID, TP-DCS = UCS2, TP-VP
                f"{len(ud):02X}" + ud.hex().upper())
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
        ud = b[i:i + udl]
        if len(ud) != udl:
            raise PduError("user data shorter than TP-UDL")
    except IndexError:
        raise PduError("PDU too short") from None
    ref, total, seq = None, 1, 1
    if first & 0x40:
        hl = ud[0]
        hdr = ud[1:1 + hl]
        j = 0
        while j < len(hdr):
            iei, ln = hdr[j], hdr[j + 1]
            if iei == 0x00 and ln == 3:
                ref, total, seq = hdr[j + 2], hdr[j + 3], hdr[j + 4]
            j += 2 + ln
        ud = ud[1 + hl:]
    if dcs & 0x0C != 0x08:
        raise PduError(f"DCS {dcs:#04x} is not UCS2")
    return Decoded(smsc=smsc, number=number, text=ud.decode("utf-16-be", errors="surrogatepass"),
                   ref=ref, total=total, seq=seq, dcs=dcs, status_report=bool(first & 0x20))


def join_parts(parts: list[Decoded]) -> str:
    """The text of a message from its decoded parts (any order)."""
    raw = b"".join(p.text.encode("utf-16-be", errors="surrogatepass")
                   for p in sorted(parts, key=lambda p: p.seq))
    return raw.decode("utf-16-be")
