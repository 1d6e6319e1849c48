"""Speech synthesisers and players behind two small interfaces.

``SpeechSynth.render(utterance) -> Pcm`` and ``AudioSink.play(path)``; the
announcer knows nothing else.  Chosen by config (``screens.voice.synth`` and
``.player``), never by "if testing".

* :class:`Pyttsx3Synth` — pyttsx3 over libespeak-ng, in process (~10–20 ms a
  sentence).  pyttsx3 2.x writes only the *last* file when ``save_to_file`` is
  queued twice before ``runAndWait``, so every sentence gets a fresh engine and
  its own ``runAndWait``, always from the one worker thread.
* :class:`EspeakSynth` — the ``espeak-ng`` program, WAV on stdout: the
  fallback when pyttsx3 is missing or misbehaves.
* :class:`FakeSynth` — silence as long as the text would take; for tests that
  are not about sound.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Protocol

from .audio import RATE, Pcm, from_wav
from .speech import Utterance


class SynthError(RuntimeError):
    pass


class SpeechSynth(Protocol):
    def render(self, utt: Utterance) -> Pcm: ...


class AudioSink(Protocol):
    def play(self, path: str) -> None:
        """Play a whole WAV file; return when it has finished."""


class Pyttsx3Synth:
    def __init__(self, rate: int = 150):
        self.rate = rate
        self._lock = threading.Lock()

    def render(self, utt: Utterance) -> Pcm:
        try:
            import pyttsx3
        except ImportError as e:  # pragma: no cover - depends on the host
            raise SynthError("pyttsx3 is missing: pip install 'onewindow[voice]' "
                             "(and apt install espeak-ng)") from e
        fd, path = tempfile.mkstemp(suffix=".wav", prefix="ow-say-")
        os.close(fd)
        try:
            with self._lock, contextlib.redirect_stdout(io.StringIO()):  # it prints "Audio saved"
                engine = pyttsx3.init("espeak")
                try:
                    engine.setProperty("voice", utt.voice)
                    engine.setProperty("rate", self.rate)
                    engine.save_to_file(utt.text, path)
                    engine.runAndWait()
                finally:
                    del engine  # a fresh engine for the next sentence (see module doc)
            with open(path, "rb") as f:
                data = f.read()
            if len(data) <= 44:
                raise SynthError(f"pyttsx3 wrote no audio for {utt.text!r}")
            return from_wav(data)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)


class EspeakSynth:
    def __init__(self, rate: int = 150, program: str | None = None):
        self.rate = rate
        self.program = program or shutil.which("espeak-ng") or "espeak-ng"

    def render(self, utt: Utterance) -> Pcm:
        try:
            out = subprocess.run([self.program, "-v", utt.voice, "-s", str(self.rate), "--stdout", utt.text],
                                 capture_output=True, timeout=10, check=True).stdout
        except FileNotFoundError as e:
            raise SynthError("espeak-ng is missing: apt install espeak-ng") from e
        except subprocess.SubprocessError as e:
            raise SynthError(f"espeak-ng failed: {e}") from e
        # espeak-ng streams: the RIFF sizes in the header are placeholders, so
        # take the frames after the 44-byte header ourselves.
        if len(out) <= 44 or out[:4] != b"RIFF":
            raise SynthError("espeak-ng wrote no audio")
        rate = int.from_bytes(out[24:28], "little")
        return Pcm(rate, out[44:])


class FakeSynth:
    """Silence, 70 ms per character: durations grow with the text, nothing is heard."""

    def __init__(self, rate: int = 150):
        self.rendered: list[Utterance] = []

    def render(self, utt: Utterance) -> Pcm:
        self.rendered.append(utt)
        return Pcm(RATE, b"\x00\x00" * int(RATE * 0.07 * len(utt.text)))


class CommandPlayer:
    """``aplay -q FILE`` (ALSA) or ``paplay FILE`` (PulseAudio/PipeWire), blocking."""

    def __init__(self, program: str):
        self.program = program

    def play(self, path: str) -> None:
        args = [self.program, "-q", path] if self.program == "aplay" else [self.program, path]
        try:
            subprocess.run(args, timeout=60, check=False, capture_output=True)
        except (FileNotFoundError, subprocess.TimeoutExpired) as e:
            raise SynthError(f"{self.program} could not play {path}: {e}") from e


class NullPlayer:
    """Keeps the files and plays nothing (no sound card, tests, benchmarks)."""

    def play(self, path: str) -> None:
        return None


def make_synth(kind: str, rate: int) -> SpeechSynth:
    if kind == "pyttsx3":
        return Pyttsx3Synth(rate)
    if kind == "espeak-ng":
        return EspeakSynth(rate)
    if kind == "fake":
        return FakeSynth(rate)
    raise ValueError(f"unknown synth {kind!r}")


def make_player(kind: str) -> AudioSink:
    if kind in ("aplay", "paplay"):
        return CommandPlayer(kind)
    if kind == "none":
        return NullPlayer()
    raise ValueError(f"unknown player {kind!r}")
