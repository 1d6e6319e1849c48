"""The clip voice: a call said by joining recorded prompts (the QSystem way).

A folder of WAV prompts — 请, the digits, the letters, 号到, 号窗口, 十 百 千
for window numbers, 再次呼叫 for a recall — recorded by a person or made by
espeak-ng (``onewindow voice-clips``, run at install).  :class:`ClipSynth`
says a Mandarin call by joining them when the folder has every prompt, in one
format; otherwise (a prompt missing or unreadable, or an English sentence) it
hands the sentence to the fallback synthesiser, so a hall never goes silent
because a file is missing.
"""

from __future__ import annotations

import logging
import string
import wave
from pathlib import Path

from .audio import RATE, Pcm, join, resample, silence, to_wav
from .speech import Utterance
from .synth import EspeakSynth, SpeechSynth, SynthError

log = logging.getLogger("display.clips")

# clip name → what espeak-ng reads to make the default prompt (numbered pinyin)
PROMPTS: dict[str, str] = {
    "qing": "qing3", "hao_dao": "hao4 dao4", "hao_chuangkou": "hao4 chuang1 kou3", "zaici": "zai4 ci4 hu1 jiao4",
    "shi": "shi2", "bai": "bai3", "qian": "qian1",
    **{str(i): p for i, p in enumerate(("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1",
                                        "jiu3"))},
    **{c: c for c in string.ascii_uppercase},
}
GAP_S = 0.04  # between prompts: joined clips run together without it


def read_clip(path: Path) -> Pcm:
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path.name}: not 16-bit mono")
        return Pcm(w.getframerate(), w.readframes(w.getnframes()))


class ClipSynth:
    """Joins prompts from ``folder`` for Mandarin; ``fallback`` says the rest."""

    def __init__(self, folder: str | Path, fallback: SpeechSynth):
        self.folder = Path(folder)
        self.fallback = fallback
        self._clips: dict[str, Pcm] | None = None

    def load(self) -> bool:
        """Read the folder; True when every prompt is there and readable (then clips are used)."""
        clips: dict[str, Pcm] = {}
        missing = []
        for name in PROMPTS:
            path = self.folder / f"{name}.wav"
            try:
                clips[name] = read_clip(path)
            except (OSError, EOFError, wave.Error, ValueError) as e:
                missing.append(f"{name} ({e.__class__.__name__})")
        if missing:
            log.warning("voice clips in %s incomplete, using the synthesiser: %s", self.folder, ", ".join(missing))
            self._clips = None
            return False
        self._clips = clips
        return True

    @property
    def complete(self) -> bool:
        return self._clips is not None

    def render(self, utt: Utterance) -> Pcm:
        if self._clips is None or not utt.clips or any(c not in self._clips for c in utt.clips):
            return self.fallback.render(utt)
        return join_clips([self._clips[c] for c in utt.clips])


def join_clips(parts: list[Pcm]) -> Pcm:
    """The prompts one after another at the announcer's rate, a short gap between."""
    out: list[Pcm] = []
    for i, p in enumerate(parts):
        if i:
            out.append(silence(GAP_S))
        out.append(resample(p, RATE))
    return join(out)


def make_default_clips(folder: str | Path, rate: int = 150, synth: SpeechSynth | None = None) -> list[Path]:
    """Write every prompt as ``<name>.wav`` with espeak-ng (whole files: ``.tmp`` + rename)."""
    from .speech import VOICES
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    synth = synth or EspeakSynth(rate)
    written = []
    for name, text in PROMPTS.items():
        pcm = synth.render(Utterance("zh-CN", VOICES["zh-CN"], text, name))
        path = folder / f"{name}.wav"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(to_wav(pcm))
        tmp.replace(path)
        written.append(path)
    return written


def cmd_main(out: str, rate: int) -> int:
    try:
        paths = make_default_clips(out, rate)
    except SynthError as e:
        raise SystemExit(str(e)) from None
    print(f"{len(paths)} prompts in {out}")
    return 0
