"""The announcer renders real speech (espeak-ng, offline) to WAV files, in order.

No sound card here: the player is ``none`` and the files are the output.
"""

from __future__ import annotations

import wave

import pytest

from hall.clock import ManualClock
from hall.config.screens import VoiceConfig, ZoneVoice
from hall.messages import CalledEvent

from display.announcer import Announcer
from display.audio import chime, wav_seconds
from display.speech import utterance
from display.synth import EspeakSynth, FakeSynth, NullPlayer, Pyttsx3Synth
from tests.needs import needs

T0 = 1_790_000_000.0
needs_espeak = needs("espeak-ng")


def ev(number, window_number, at, zone="Z4", recall=0):
    return CalledEvent(event=f"e-{number}-{recall}", ticket=f"t-{number}", number=number, window=f"W{window_number}",
                       window_number=window_number, zone=zone, matter=None, recall=recall,
                       lang="zh-CN", at=at)


def voice(**kw):
    return VoiceConfig(synth="fake", player="none", max_age_seconds=30, zones={
        "Z4": ZoneVoice(volume=0.8, languages=["zh-CN"]),
        "Z7": ZoneVoice(volume=1.0, languages=["zh-CN", "en"])}, **kw)


class SlowPlayer:
    """Records what was played and checks nothing overlaps."""

    def __init__(self, clock):
        self.clock = clock
        self.played = []
        self.busy = False

    def play(self, path):
        assert not self.busy, "a call cut another off"
        self.busy = True
        self.played.append(path)
        self.clock.advance(wav_seconds(path))  # playing takes as long as the file
        self.busy = False


@pytest.mark.parametrize("synth_cls", [Pyttsx3Synth, EspeakSynth])
@needs_espeak
def test_every_call_gives_one_wav_in_order_with_plausible_duration(tmp_path, synth_cls):
    clock = ManualClock(T0)
    player = SlowPlayer(clock)
    ann = Announcer(voice(), synth_cls(rate=150), player, tmp_path / "wav", clock=clock)
    outcomes = []
    ann.listeners.append(outcomes.append)
    calls = [ev("D001", "21", T0), ev("G014", "40", T0 + 1, zone="Z7"), ev("D002", "5", T0 + 2),
             ev("D001", "21", T0 + 3, recall=1)]
    ann.start()
    try:
        for c in calls:
            assert ann.say(c)
        assert not ann.say(calls[0])  # QoS 1 duplicate
        assert ann.wait_idle(30)
    finally:
        ann.stop()
    files = sorted(p.name for p in (tmp_path / "wav").glob("*.wav"))
    assert files == ["000001-Z4-D001.wav", "000002-Z7-G014.wav", "000003-Z4-D002.wav", "000004-Z4-D001-r1.wav"]
    assert [o.status for o in outcomes] == ["spoken"] * 4
    assert [o.path.rsplit("/", 1)[1] for o in outcomes] == files
    assert [p.rsplit("/", 1)[1] for p in player.played] == files
    chime_s = chime().seconds
    durations = [wav_seconds(str(tmp_path / "wav" / f)) for f in files]
    # chime + a Mandarin sentence of ~11 syllables: 2.5–9 s; with English after it, longer
    assert all(chime_s + 2.0 < d < 9 for d in (durations[0], durations[2])), durations
    assert durations[1] > durations[0] + 1.5, durations          # zh-CN then en
    assert durations[3] > durations[0], durations                  # "再次呼叫" in front
    with wave.open(str(tmp_path / "wav" / files[0])) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)


@needs_espeak
def test_pyttsx3_renders_mandarin_with_the_pinyin_voice():
    # The pinyin voice reads the whole sentence; the cmn voice would spell it
    # out in English letters and come out much longer.
    synth = Pyttsx3Synth()
    zh = synth.render(utterance("A023", "5", "zh-CN"))
    en = synth.render(utterance("A023", "5", "en"))
    assert 1.5 < zh.seconds < 6 and 1.5 < en.seconds < 6
    assert any(b != 0 for b in zh.frames[:20000])


def test_old_calls_are_dropped_not_spoken_late(tmp_path):
    clock = ManualClock(T0)
    player = SlowPlayer(clock)
    ann = Announcer(voice(), FakeSynth(), player, tmp_path, clock=clock)
    outcomes = []
    ann.listeners.append(outcomes.append)
    # each fake call plays ~5 s; a burst of 10 calls at once: the tail gets too old (30 s)
    for i in range(10):
        assert ann.say(ev(f"D{i:03d}", "21", T0))
    ann.start()
    try:
        assert ann.wait_idle(30)
    finally:
        ann.stop()
    spoken = [o.job.event.number for o in outcomes if o.status == "spoken"]
    dropped = [o.job.event.number for o in outcomes if o.status == "dropped"]
    assert spoken == [f"D{i:03d}" for i in range(len(spoken))]
    assert dropped and spoken + dropped == [f"D{i:03d}" for i in range(10)]
    assert len(list(tmp_path.glob("*.wav"))) == len(spoken)


def test_volume_scales_chime_and_speech(tmp_path):
    ann = Announcer(voice(), FakeSynth(), NullPlayer(), tmp_path)
    job_loud = ann.calls.offer(ev("G001", "40", T0, zone="Z7"), T0)
    job_soft = ann.calls.offer(ev("D001", "21", T0), T0)
    loud_pcm, soft_pcm = ann.render(job_loud).frames, ann.render(job_soft).frames
    loud = max(abs(int.from_bytes(loud_pcm[i:i + 2], "little", signed=True)) for i in range(0, 40000, 2))
    soft = max(abs(int.from_bytes(soft_pcm[i:i + 2], "little", signed=True)) for i in range(0, 40000, 2))
    assert soft == pytest.approx(loud * 0.8, rel=0.02)


def test_no_chime_when_switched_off(tmp_path):
    ann = Announcer(voice(chime=False), FakeSynth(), NullPlayer(), tmp_path)
    with_chime = Announcer(voice(), FakeSynth(), NullPlayer(), tmp_path)
    job = ann.calls.offer(ev("D001", "21", T0), T0)
    assert with_chime.render(job).seconds - ann.render(job).seconds == pytest.approx(
        chime().seconds + 0.25, abs=0.01)
