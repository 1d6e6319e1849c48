"""PCM helpers for the announcer: chime, silence, volume, one WAV per call (pure).

Everything is 16-bit mono PCM at the synthesiser's rate (espeak-ng: 22050 Hz),
so a call becomes a single file: chime, pause, each language's sentence.
One file per call is what makes "never cut each other off" simple: the
player plays whole files one after another.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from dataclasses import dataclass

RATE = 22050


@dataclass(frozen=True)
class Pcm:
    rate: int
    frames: bytes  # 16-bit signed little-endian mono

    @property
    def seconds(self) -> float:
        return len(self.frames) / 2 / self.rate


def chime(rate: int = RATE) -> Pcm:
    """A two-tone "ding-dong" (E5 then C5) with a bell-like decay, ~0.9 s."""
    out = array("h")
    for freq, dur in ((659.25, 0.42), (523.25, 0.5)):
        n = int(rate * dur)
        for i in range(n):
            tt = i / rate
            env = math.exp(-4.0 * tt) * min(1.0, i / (0.005 * rate))
            v = 0.55 * env * (math.sin(2 * math.pi * freq * tt) + 0.3 * math.sin(4 * math.pi * freq * tt))
            out.append(int(max(-1.0, min(1.0, v)) * 32000))
    return Pcm(rate, _le(out))


def silence(seconds: float, rate: int = RATE) -> Pcm:
    return Pcm(rate, b"\x00\x00" * int(seconds * rate))


def _le(a: array) -> bytes:
    if sys.byteorder != "little":
        a = array("h", a)
        a.byteswap()
    return a.tobytes()


def _samples(frames: bytes) -> array:
    a = array("h")
    a.frombytes(frames[: len(frames) // 2 * 2])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def resample(pcm: Pcm, rate: int) -> Pcm:
    """Nearest-sample rate change; only for a synthesiser at an unusual rate."""
    if pcm.rate == rate:
        return pcm
    src = _samples(pcm.frames)
    n = int(len(src) * rate / pcm.rate)
    out = array("h", (src[min(len(src) - 1, int(i * pcm.rate / rate))] for i in range(n)))
    return Pcm(rate, _le(out))


def scale(pcm: Pcm, volume: float) -> Pcm:
    if volume >= 0.999:
        return pcm
    a = _samples(pcm.frames)
    out = array("h", (int(s * volume) for s in a))
    return Pcm(pcm.rate, _le(out))


def join(parts: list[Pcm]) -> Pcm:
    rate = parts[0].rate if parts else RATE
    return Pcm(rate, b"".join(resample(p, rate).frames for p in parts))


def to_wav(pcm: Pcm) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.frames)
    return buf.getvalue()


def from_wav(data: bytes) -> Pcm:
    with wave.open(io.BytesIO(data), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("expected 16-bit mono WAV")
        rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    return Pcm(rate, frames)


def wav_seconds(path: str) -> float:
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()
