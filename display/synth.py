"""Speech synthesisers and players behind two small interfaces.

``SpeechSynth.render(utterance) -> Pcm`` and ``AudioSink.play(path)``; the
announcer knows nothing else.  Chosen by config (``screens.voice.synth`` and
``.player``), never by "if testing".

* :class:`Pyttsx3Synth` — pyttsx3 over libespeak-ng, in process (~10–20 ms a
  sentence); see the class for the pyttsx3 2.99 quirks it works around.
* :class:`EspeakSynth` — the ``espeak-ng`` program, WAV on stdout: the
  fallback when pyttsx3 is missing or misbehaves.
* :class:`FakeSynth` — silence as long as the text would take; for tests that
  are not about sound.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Protocol

from .audio import RATE, Pcm, from_wav
from .speech import Utterance

log = logging.getLogger("display.synth")


class SynthError(RuntimeError):
    pass


class SpeechSynth(Protocol):
    def render(self, utt: Utterance) -> Pcm: ...


class AudioSink(Protocol):
    def play(self, path: str) -> None:
        """Play a whole WAV file; return when it has finished."""


class Pyttsx3Synth:
    """pyttsx3's espeak driver: one engine, one sentence per ``runAndWait``.

    What pyttsx3 2.99 does here, and why this class looks the way it does:

    * ``save_to_file`` twice before one ``runAndWait`` writes only the last
      file: each sentence gets its own ``save_to_file`` + ``runAndWait``.
    * A fresh engine per sentence is worse: engines are cached in a weak
      dictionary and reached through weak proxies, and libespeak keeps calling
      the callback of a collected driver — ReferenceError, empty files (a third
      of them), then a segfault.  So one engine lives as long as the process.
    * The driver writes the WAV from libespeak's callback, which can come after
      ``runAndWait`` returns: the file is read only after the engine's
      ``finished-utterance`` notification.

    A sentence that still comes out empty is tried once more, then handed to
    the espeak-ng program (same voice, same text) rather than lost.
    """

    # libespeak is one per process: so are the engine, its lock and its signal
    _lock = threading.Lock()
    _engine = None
    _done = threading.Event()

    def __init__(self, rate: int = 150, fallback: "SpeechSynth | None" = None):
        self.rate = rate
        self.fallback = fallback if fallback is not None else EspeakSynth(rate)
        self.fallbacks = 0

    def render(self, utt: Utterance) -> Pcm:
        last: Exception | None = None
        for _attempt in range(2):
            try:
                with self._lock:
                    return self._render(utt)
            except SynthError as e:
                last = e
        self.fallbacks += 1
        log.warning("pyttsx3 failed (%s); using the espeak-ng program for this sentence", last)
        return self.fallback.render(utt)

    def _open(self):
        if self._engine is None:
            try:
                import pyttsx3
            except ImportError as e:  # pragma: no cover - depends on the host
                raise SynthError("pyttsx3 is missing: pip install 'onewindow[voice]' "
                                 "(and apt install espeak-ng)") from e
            engine = pyttsx3.init("espeak")
            engine.connect("finished-utterance", lambda **_: Pyttsx3Synth._done.set())
            Pyttsx3Synth._engine = engine
        return self._engine

    def _render(self, utt: Utterance) -> Pcm:
        fd, path = tempfile.mkstemp(suffix=".wav", prefix="ow-say-")
        os.close(fd)
        os.unlink(path)
        try:
            engine = self._open()
            self._done.clear()
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to …"
                engine.setProperty("voice", utt.voice)
                engine.setProperty("rate", self.rate)
                engine.save_to_file(utt.text, path)
                engine.runAndWait()
                finished = self._done.wait(5.0)
            if not finished or not os.path.exists(path):
                raise SynthError(f"pyttsx3 wrote no audio for {utt.text!r}")
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
