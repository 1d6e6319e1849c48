"""The on-screen pads of the form editor, as view blocks (pure).

One pad per kind of value, so a citizen is never offered a key that cannot
belong in the field: digits for numbers and phones, digits and X for an ID
number, the code alphabet for a credit code, a pinyin keyboard (with digits,
for door numbers) for Chinese text.  Keys send ``fkey:<key>``.
"""

from __future__ import annotations

from .texts import t
from .view import Block, Btn

QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# 统一社会信用代码 (GB 32100): digits and the capitals without I O S V Z
USCC_LETTERS = tuple("ABCDEFGHJKLMNPQRTUWXY")


def _pad(keys: tuple[str, ...], cols: int, lang: str) -> Block:
    def label(k: str) -> str:
        if k in ("del", "clear"):
            return t("key." + k, lang)
        return {"space": "␣"}.get(k, k)
    return Block("keypad", buttons=tuple(Btn(label(k), f"fkey:{k}") for k in keys), cols=cols)


def id_pad(lang: str) -> list[Block]:
    """公民身份号码: 17 digits and a check character that may be X."""
    return [_pad(tuple("123456789") + ("X", "0", "del"), 3, lang)]


def digit_pad(lang: str, dot: bool = False) -> list[Block]:
    """Phones, dates (typed as 8 digits) and numbers (with a decimal point)."""
    return [_pad(tuple("123456789") + ("." if dot else "clear", "0", "del"), 3, lang)]


def credit_code_pad(lang: str, elderly: bool) -> list[Block]:
    return [_pad(tuple("1234567890"), 5 if elderly else 10, lang),
            _pad(USCC_LETTERS + ("clear", "del"), 6 if elderly else 8, lang)]


def pinyin_pad(lang: str, elderly: bool) -> list[Block]:
    """Letters make pinyin for the candidate bar; digits and a few marks go in as typed."""
    rows = [_pad(tuple(row), 10, lang) for row in QWERTY]
    rows.insert(0, _pad(tuple("1234567890"), 10, lang))
    rows.append(_pad(("space", "·", "-", "clear", "del"), 5, lang))
    return rows


def pad_for(ftype: str, lang: str, elderly: bool) -> list[Block]:
    if ftype == "id_number":
        return id_pad(lang)
    if ftype in ("phone", "date"):
        return digit_pad(lang)
    if ftype == "number":
        return digit_pad(lang, dot=True)
    if ftype == "uscc":
        return credit_code_pad(lang, elderly)
    return pinyin_pad(lang, elderly)
