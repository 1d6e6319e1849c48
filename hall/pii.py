"""Personal data (个人信息保护法): the one masking function every package uses.

Names, ID numbers and phone numbers are shown unmasked only to the clerk who
serves that citizen (the window terminal) and to the SMS sender; everywhere
else — kiosk screens, boards, logs, reports, admin pages — they go through
:func:`mask`.  One implementation, so a phone is never masked one way on a
screen and another way in a log.

Forms follow what Chinese public boards print:

* phone ``13812345678`` → ``138****5678`` (short numbers keep two digits at most)
* ID number ``11010519491231002X`` → ``1101**********002X``
* name ``张三`` → ``张*``, ``张三丰`` → ``张*丰``, ``欧阳娜娜`` → ``欧**娜``;
  Latin names keep their first letter of each word (``Li Lei`` → ``L* L**``).
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["phone", "id_number", "name", "text"]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    p = phone.strip()
    if len(p) >= 11:  # mobile (and +86… forms): first three, last four
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    if len(p) >= 7:  # a landline: never more than the last two digits
        return "*" * (len(p) - 2) + p[-2:]
    return "*" * len(p)


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    v = value.strip()
    if len(v) >= 15:  # 18-digit (GB 11643) and the old 15-digit card
        return v[:4] + "*" * (len(v) - 8) + v[-4:]
    if len(v) >= 6:  # passports, permits: last three only
        return "*" * (len(v) - 3) + v[-3:]
    return "*" * len(v)


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    n = name.strip()
    if " " in n:  # Latin-script names: first letter of each word
        return " ".join(w[:1] + "*" * (len(w) - 1) for w in n.split())
    if len(n) == 1:
        return n
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_text(value: str | None) -> str:
    """Free text that may hold personal data (an address, a comment): kept short."""
    if not value:
        return ""
    v = value.strip()
    return v[:2] + "*" * min(6, max(0, len(v) - 2))


_BY_KIND = {"phone": mask_phone, "id_number": mask_id_number, "name": mask_name, "text": mask_text}


def mask(value: str | None, kind: Kind) -> str:
    """Mask ``value`` as personal data of ``kind`` (phone, id_number, name, text)."""
    try:
        return _BY_KIND[kind](value)
    except KeyError:
        raise ValueError(f"unknown personal-data kind {kind!r}") from None


# what a log line must never carry: a value quoted by a decoder or a refusal
# ("Invalid enum value '13812345678'", "no matter 'x'"), and anything shaped
# like a mobile or ID number that came unquoted
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])|(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub(text: str) -> str:
    """Text that came from a client's payload (a decode error, a refusal's
    message), made fit for a log line: quoted values are blanked to ``…`` so
    the line names the field but never its value, and a bare mobile or ID
    number is masked as :func:`mask` does."""
    text = _QUOTED.sub("…", text)
    text = _ID_NUMBER.sub(lambda mo: mask_id_number(mo.group()), text)
    return _MOBILE.sub(lambda mo: mask_phone(mo.group()), text)
