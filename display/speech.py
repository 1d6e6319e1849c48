"""Speech text front end: a call → what the synthesiser reads, per language (pure).

espeak-ng's ``cmn`` voice reads Han characters through a dictionary that
sends many of them to the English rules ("请" comes out as "kingthree"), so
Mandarin is fed as numbered pinyin to the ``cmn-Latn-pinyin`` voice, which
reads tone-numbered syllables and single capital letters correctly.
Ticket numbers are read digit by digit (A023 → "A 零 二 三"), the way halls
and banks call them; a window number is read as a number (12 → 十二), as
people say it.  zh-TW is Mandarin as well, read by the same voice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PINYIN_DIGITS = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
HANZI_DIGITS = "零一二三四五六七八九"

VOICES = {"zh-CN": "cmn-latn-pinyin", "zh-TW": "cmn-latn-pinyin", "en": "en"}


@dataclass(frozen=True)
class Utterance:
    lang: str
    voice: str  # espeak-ng voice name
    text: str   # what the synthesiser reads
    shown: str  # the same sentence for people and logs
    clips: tuple[str, ...] = ()  # the recorded prompts that say it (display/clips.py); () = none fit


def _tokens(number: str) -> list[str]:
    """A023 → ["A", "0", "2", "3"]; anything but letters and digits is dropped."""
    return [ch for ch in number.upper() if ch.isascii() and ch.isalnum()]


def spell_pinyin(number: str) -> str:
    return " ".join(PINYIN_DIGITS[int(c)] if c.isdigit() else c for c in _tokens(number))


def spell_hanzi(number: str) -> str:
    return " ".join(HANZI_DIGITS[int(c)] if c.isdigit() else c for c in _tokens(number))


def cardinal_pinyin(n: int) -> str:
    """0–9999 as Mandarin says it: 10 shi2, 12 shi2 er4, 20 er4 shi2, 105 yi4 bai3 ling2 wu3."""
    if not 0 <= n <= 9999:
        raise ValueError(n)
    if n < 10:
        return PINYIN_DIGITS[n]
    units = [(1000, "qian1"), (100, "bai3"), (10, "shi2")]
    out: list[str] = []
    rest = n
    zero_gap = False
    for size, word in units:
        d, rest = divmod(rest, size)
        if d:
            if zero_gap:
                out.append("ling2")
                zero_gap = False
            if not (size == 10 and d == 1 and not out):  # 十二, not 一十二
                out.append("yi4" if d == 1 and size >= 100 else PINYIN_DIGITS[d])
            out.append(word)
        elif out:
            zero_gap = True
    if rest:
        if zero_gap:
            out.append("ling2")
        out.append(PINYIN_DIGITS[rest])
    return " ".join(out)


def window_pinyin(window_number: str) -> str:
    if re.fullmatch(r"[0-9]{1,4}", window_number):
        return cardinal_pinyin(int(window_number))
    return spell_pinyin(window_number)


def _english_number(number: str) -> str:
    # Commas keep espeak-ng from reading "A" as the article and "023" as twenty-three.
    return ", ".join(_tokens(number))


def utterance(number: str, window_number: str, lang: str, recall: int = 0) -> Utterance:
    if lang in ("zh-CN", "zh-TW"):
        hao = "号" if lang == "zh-CN" else "號"
        qing = "请" if lang == "zh-CN" else "請"
        again = "zai4 ci4 hu1 jiao4, " if recall else ""
        text = (f"{again}qing3 {spell_pinyin(number)} hao4, "
                f"dao4 {window_pinyin(window_number)} hao4 chuang1 kou3.")
        shown = f"{'再次呼叫 ' if recall else ''}{qing} {spell_hanzi(number)} {hao}，到 {window_number} {hao}窗口"
        return Utterance(lang, VOICES[lang], text, shown, clip_sequence(number, window_number, recall))
    if lang == "en":
        again = "Calling again: " if recall else ""
        text = f"{again}Number {_english_number(number)}. Please go to window {window_number}."
        return Utterance(lang, VOICES[lang], text, text)
    raise ValueError(f"no speech for language {lang!r}")


# A syllable of the window's cardinal number → its clip ("yi4" of 一百 is the digit's clip).
_CARDINAL_CLIPS = {**{p: str(i) for i, p in enumerate(PINYIN_DIGITS)}, "yi4": "1", "shi2": "shi",
                   "bai3": "bai", "qian1": "qian"}


def clip_sequence(number: str, window_number: str, recall: int = 0) -> tuple[str, ...]:
    """The prompts that say a Mandarin call: 请 A 0 2 3 号到 十 二 号窗口."""
    window = (tuple(_CARDINAL_CLIPS[p] for p in cardinal_pinyin(int(window_number)).split())
              if re.fullmatch(r"[0-9]{1,4}", window_number) else tuple(_tokens(window_number)))
    return (("zaici",) if recall else ()) + ("qing", *_tokens(number), "hao_dao", *window, "hao_chuangkou")


def utterances(number: str, window_number: str, languages: list[str], recall: int = 0) -> list[Utterance]:
    return [utterance(number, window_number, lang, recall) for lang in languages]
