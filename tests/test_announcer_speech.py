"""Speech text front end (display/speech.py) and the call queue rules (pure)."""

from __future__ import annotations

import pytest

from hall.config.screens import VoiceConfig, ZoneVoice
from hall.messages import CalledEvent

from display.announcer import CallQueue
from display.speech import cardinal_pinyin, spell_hanzi, utterance

T0 = 1_790_000_000.0


def test_ticket_number_is_read_digit_by_digit_in_pinyin():
    u = utterance("A023", "5", "zh-CN")
    assert u.voice == "cmn-latn-pinyin"
    assert u.text == "qing3 A ling2 er4 san1 hao4, dao4 wu3 hao4 chuang1 kou3."
    assert u.shown == "请 A 零 二 三 号，到 5 号窗口"
    assert spell_hanzi("A023") == "A 零 二 三"


def test_window_numbers_are_read_as_numbers():
    assert [cardinal_pinyin(n) for n in (2, 10, 12, 20, 35, 100, 105, 110)] == [
        "er4", "shi2", "shi2 er4", "er4 shi2", "san1 shi2 wu3", "yi4 bai3", "yi4 bai3 ling2 wu3",
        "yi4 bai3 yi1 shi2"]
    assert utterance("B101", "12", "zh-CN").text.endswith("dao4 shi2 er4 hao4 chuang1 kou3.")


def test_traditional_chinese_uses_mandarin_pinyin_too():
    u = utterance("A023", "5", "zh-TW")
    assert u.voice == "cmn-latn-pinyin" and u.text == utterance("A023", "5", "zh-CN").text
    assert "號" in u.shown


def test_english_spells_the_number():
    u = utterance("A023", "12", "en")
    assert u.voice == "en"
    assert u.text == "Number A, 0, 2, 3. Please go to window 12."


def test_recall_says_so():
    assert utterance("A023", "5", "zh-CN", recall=1).text.startswith("zai4 ci4 hu1 jiao4, qing3")
    assert utterance("A023", "5", "en", recall=2).text.startswith("Calling again: Number A")


def test_unknown_language_refused():
    with pytest.raises(ValueError):
        utterance("A023", "5", "fr")


def ev(number, at, zone="Z4", recall=0, event=None, lang="zh-CN"):
    return CalledEvent(event=event or f"e-{number}-{recall}", ticket=f"t-{number}", number=number,
                       window="W21", window_number="21", zone=zone, matter=None, recall=recall,
                       lang=lang, at=at)


def test_queue_speaks_only_enabled_zones_once_per_event_and_not_late():
    q = CallQueue(VoiceConfig(max_age_seconds=30, zones={
        "Z4": ZoneVoice(volume=0.5, languages=["zh-CN", "en"]),
        "Z5": ZoneVoice(enabled=False)}))
    job = q.offer(ev("D001", T0), T0 + 0.1)
    assert job is not None and job.volume == 0.5 and job.languages == ("zh-CN", "en")
    assert q.offer(ev("D001", T0), T0 + 0.2) is None           # same event again
    assert q.offer(ev("D001", T0 + 20, recall=1), T0 + 20) is not None  # a recall is spoken again
    assert q.offer(ev("E001", T0, zone="Z5"), T0) is None      # zone switched off
    assert q.offer(ev("A001", T0, zone="Z1"), T0) is None      # zone not listed: silent calling
    assert q.offer(ev("D002", T0), T0 + 31) is None            # too old already
    assert q.too_old(ev("D003", T0), T0 + 30.5)


def test_the_citizens_kiosk_language_is_added_once():
    q = CallQueue(VoiceConfig(zones={"Z4": ZoneVoice(languages=["zh-CN"])}))
    assert q.offer(ev("D001", T0, lang="en"), T0).languages == ("zh-CN", "en")
    assert q.offer(ev("D002", T0, lang="zh-TW"), T0).languages == ("zh-CN",)
    assert q.offer(ev("D003", T0, lang="zh-CN"), T0).languages == ("zh-CN",)
