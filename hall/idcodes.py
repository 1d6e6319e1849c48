"""Check digits of Chinese identity codes, and the other exact value checks of forms.

* 公民身份号码 (GB 11643-1999): 17 digits + a check character from ISO 7064
  MOD 11-2 (weights 2^(17-i) mod 11), ``X`` standing for 10; digits 7–14 are
  the birth date.
* 统一社会信用代码 (GB 32100-2015): 18 characters over 31 symbols (digits and
  the capitals without I O S V Z); the 18th is a check character, MOD 31 with
  weights 3^(i-1) mod 31.
* Mobile numbers: 11 digits, ``1[3-9]…`` (MIIT numbering plan).

Each check returns ``None`` when the value is good or a short English reason.
"""

from __future__ import annotations

import datetime as dt
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_RE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def check_id_number(value: str, today: dt.date | None = None) -> str | None:
    """GB 11643: format, a real birth date not in the future, the check character."""
    v = value.strip().upper()
    if len(v) != 18:
        return "an ID number has 18 characters"
    if not ID_RE.match(v):
        return "an ID number is 17 digits and a digit or X"
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "the birth date in the ID number does not exist"
    if born.year < 1900 or (today is not None and born > today):
        return "the birth date in the ID number is impossible"
    if id_check_char(v[:17]) != v[17]:
        return "the ID number's check digit is wrong"
    return None


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def check_uscc(value: str) -> str | None:
    """GB 32100: 18 characters of the code's alphabet, the check character."""
    v = value.strip().upper()
    if len(v) != 18:
        return "a unified social credit code has 18 characters"
    if not USCC_RE.match(v):
        return "a unified social credit code uses digits and capitals except I O S V Z"
    if uscc_check_char(v[:17]) != v[17]:
        return "the unified social credit code's check character is wrong"
    return None


def check_mobile(value: str) -> str | None:
    if not MOBILE_RE.match(value.strip()):
        return "a mobile number is 11 digits starting with 13–19"
    return None


def parse_date(value: str) -> dt.date | None:
    """``YYYY-MM-DD`` exactly (no other spelling), a date that exists."""
    if not DATE_RE.match(value.strip()):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def birth_date(id_number: str) -> str | None:
    """The birth date an ID number carries, as ``YYYY-MM-DD`` (for prefilling)."""
    v = id_number.strip()
    if len(v) != 18:
        return None
    return f"{v[6:10]}-{v[10:12]}-{v[12:14]}"
