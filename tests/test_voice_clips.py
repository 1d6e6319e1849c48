"""The clip voice (display/clips.py): prompts joined in the order a call is said,
checked against sox joining the same files; the synthesiser when a prompt is missing."""

from __future__ import annotations

import shutil
import subprocess
import wave

import pytest

from display.clips import GAP_S, PROMPTS, ClipSynth, make_default_clips
from display.speech import clip_sequence, utterance
from display.synth import FakeSynth

from .needs import needs


def test_the_sequence_of_prompts_of_a_call():
    assert clip_sequence("A023", "12") == ("qing", "A", "0", "2", "3", "hao_dao", "shi", "2", "hao_chuangkou")
    assert clip_sequence("YB105", "105", recall=1) == (
        "zaici", "qing", "Y", "B", "1", "0", "5", "hao_dao", "1", "bai", "0", "5", "hao_chuangkou")
    assert clip_sequence("A001", "20") == ("qing", "A", "0", "0", "1", "hao_dao", "2", "shi", "hao_chuangkou")
    assert set(clip_sequence("Z999", "3456")) <= set(PROMPTS)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    make_default_clips(folder)  # the install step, with the real espeak-ng
    return folder


@needs("espeak-ng", "sox")
def test_a_call_is_the_prompts_joined_in_order_as_sox_joins_them(clips, tmp_path):
    synth = ClipSynth(clips, fallback=FakeSynth())
    assert synth.load() and synth.complete
    utt = utterance("A023", "12", "zh-CN")
    ours = synth.render(utt)
    # sox: the same prompts with the same gap between them (a silence file at the prompts' rate)
    with wave.open(str(clips / "qing.wav")) as w:
        rate = w.getframerate()
    gap = tmp_path / "gap.wav"
    subprocess.run(["sox", "-D", "-r", str(rate), "-c", "1", "-n", "-b", "16", str(gap), "trim", "0",
                    f"{int(GAP_S * rate)}s"], check=True)
    parts = []
    for i, name in enumerate(utt.clips):
        if i:
            parts.append(str(gap))
        parts.append(str(clips / f"{name}.wav"))
    expected = tmp_path / "expected.wav"
    subprocess.run(["sox", "-D", *parts, str(expected)], check=True)  # -D: no dither, exact samples
    with wave.open(str(expected)) as w:
        want = w.readframes(w.getnframes())
        assert w.getframerate() == ours.rate == rate
    assert ours.frames == want
    # and a different order is a different sound: the check can fail
    wrong = tmp_path / "wrong.wav"
    subprocess.run(["sox", *reversed(parts), str(wrong)], check=True)
    with wave.open(str(wrong)) as w:
        assert w.readframes(w.getnframes()) != ours.frames


@needs("espeak-ng")
def test_a_missing_prompt_falls_back_to_the_synthesiser(clips, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(clips, partial)
    (partial / "hao_chuangkou.wav").unlink()
    fake = FakeSynth()
    synth = ClipSynth(partial, fallback=fake)
    assert not synth.load()
    synth.render(utterance("A023", "12", "zh-CN"))
    assert [u.shown for u in fake.rendered] == [utterance("A023", "12", "zh-CN").shown]
    # English is never joined from the Mandarin prompts
    full = ClipSynth(clips, fallback=fake)
    full.load()
    full.render(utterance("A023", "12", "en"))
    assert fake.rendered[-1].lang == "en"


@needs("espeak-ng")
def test_the_announcer_picks_the_clips_when_the_folder_is_complete(clips, small_config, tmp_path):
    from hall.bus import BusSettings
    from display.announcer_service import AnnouncerService
    from display.clips import ClipSynth
    raw = small_config.to_json_dict()
    raw["screens"]["voice"]["clips_dir"] = str(clips)
    from hall.config import parse_config
    svc = AnnouncerService(parse_config(raw), BusSettings(port=1), tmp_path / "wav")  # never started
    assert isinstance(svc.clips, ClipSynth) and not svc.clips.complete  # nothing read in the constructor
    assert svc.clips.load()
