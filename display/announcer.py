"""The voice announcer: calls in, one WAV per call out, played one after another.

:class:`CallQueue` is the pure part (which calls are spoken, which are
dropped, in what order); :class:`Announcer` renders and plays them on one
worker thread, so a call never cuts another off and the synthesiser (libespeak
is not thread-safe) is only ever used from one thread.

A call older than ``voice.max_age_seconds`` when its turn comes is dropped:
hearing "A023 to window 5" two minutes late sends a citizen to a window that
has moved on.  Age is counted from the engine's ``at``, so hall hosts keep
their clocks in step (NTP), as the displays' stale check also assumes.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hall import sdnotify
from hall.clock import Clock, SystemClock
from hall.config.screens import VoiceConfig
from hall.messages import CalledEvent

from .audio import Pcm, chime, join, scale, silence, to_wav
from .speech import Utterance, utterances
from .synth import AudioSink, SpeechSynth

log = logging.getLogger("display.announcer")

SEEN_EVENTS = 512
MAX_QUEUE = 200  # a backlog this long is minutes of speech: older ones would be dropped anyway


@dataclass(frozen=True)
class Job:
    seq: int
    event: CalledEvent
    received: float
    volume: float
    languages: tuple[str, ...]

    def utterances(self) -> list[Utterance]:
        ev = self.event
        return utterances(ev.number, ev.window_number, list(self.languages), ev.recall)


def spoken_languages(zone_langs: list[str], ticket_lang: str) -> tuple[str, ...]:
    """The zone's languages, plus the one the citizen chose at the kiosk if not
    already heard (zh-CN and zh-TW are both Mandarin, said once)."""
    langs = list(zone_langs)
    mandarin = {"zh-CN", "zh-TW"}
    heard = {("zh" if lang in mandarin else lang) for lang in langs}
    key = "zh" if ticket_lang in mandarin else ticket_lang
    if ticket_lang in ("zh-CN", "zh-TW", "en") and key not in heard:
        langs.append(ticket_lang)
    return tuple(langs)


@dataclass
class CallQueue:
    """Which calls to speak (pure; the caller supplies ``now``)."""

    voice: VoiceConfig
    _seen: OrderedDict = field(default_factory=OrderedDict)
    _seq: int = 0

    def offer(self, ev: CalledEvent, now: float) -> Job | None:
        zv = self.voice.zones.get(ev.zone)
        if zv is None or not zv.enabled:
            return None
        if ev.event in self._seen:  # QoS 1 redelivery; a recall has its own event id
            return None
        self._seen[ev.event] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        if self.too_old(ev, now):
            return None
        self._seq += 1
        return Job(self._seq, ev, now, zv.volume, spoken_languages(zv.languages, ev.lang))

    def too_old(self, ev: CalledEvent, now: float) -> bool:
        return now - ev.at > self.voice.max_age_seconds


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # "spoken" | "dropped" | "failed"
    path: str | None = None
    reason: str = ""
    ready_at: float = 0.0  # wall time the WAV was on disk


class Announcer:
    """``say(event)`` from any thread; speech happens on the worker, in order."""

    def __init__(self, voice: VoiceConfig, synth: SpeechSynth, player: AudioSink, out_dir: str | Path,
                 clock: Clock | None = None, keep_files: int = 100):
        self.calls = CallQueue(voice)
        self.synth = synth
        self.player = player
        self.out_dir = Path(out_dir)
        self.clock = clock or SystemClock()
        self.keep_files = keep_files
        self.listeners: list[Callable[[Outcome], None]] = []
        self._q: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._chimes: dict[tuple[int, float], Pcm] = {}
        self._written: list[str] = []

    # ------------------------------------------------------------ control --
    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._q.put(None)
        self._thread.join(timeout)
        self._thread = None

    def set_voice(self, voice: VoiceConfig) -> None:
        with self._lock:
            self.calls.voice = voice

    def say(self, ev: CalledEvent) -> bool:
        with self._lock:
            job = self.calls.offer(ev, self.clock.now())
        if job is None:
            return False
        if self._q.qsize() >= MAX_QUEUE:
            log.warning("announcer backlog full; dropping %s", ev.number)
            return False
        self._q.put(job)
        return True

    def idle(self) -> bool:
        return self._q.unfinished_tasks == 0

    def wait_idle(self, timeout: float) -> bool:
        end = self.clock.monotonic() + timeout
        while not self.idle():
            if self.clock.monotonic() > end:
                return False
            threading.Event().wait(0.01)
        return True

    # ------------------------------------------------------------- worker --
    def _run(self) -> None:
        sdnotify.watch("announcer")
        while True:
            sdnotify.beat("announcer")
            try:
                job = self._q.get(timeout=1.0)  # wake to beat: an idle announcer is not a hung one
            except queue.Empty:
                continue
            try:
                if job is None:
                    sdnotify.unwatch("announcer")
                    return
                self._one(job)
            except Exception:
                log.exception("announcer job failed")
            finally:
                self._q.task_done()

    def _one(self, job: Job) -> None:
        if self.calls.too_old(job.event, self.clock.now()):
            self._emit(Outcome(job, "dropped", reason="too old before rendering"))
            return
        try:
            pcm = self.render(job)
        except Exception as e:
            log.error("speech for %s failed: %s", job.event.number, e)
            self._emit(Outcome(job, "failed", reason=str(e)))
            return
        path = self._write(job, pcm)
        ready = self.clock.now()
        if self.calls.too_old(job.event, ready):
            os.unlink(path)
            self._emit(Outcome(job, "dropped", reason="too old before playing"))
            return
        self._emit(Outcome(job, "spoken", path=path, ready_at=ready))
        self.player.play(path)

    def render(self, job: Job) -> Pcm:
        parts: list[Pcm] = []
        speech = [self.synth.render(u) for u in job.utterances()]
        rate = speech[0].rate if speech else 22050
        if self.calls.voice.chime:
            parts += [self._chime(rate, job.volume), silence(0.25, rate)]
        for _ in range(self.calls.voice.repeat):
            for p in speech:
                parts += [scale(p, job.volume), silence(0.35, rate)]
        return join(parts)

    def _chime(self, rate: int, volume: float) -> Pcm:
        key = (rate, round(volume, 2))
        c = self._chimes.get(key)
        if c is None:
            c = self._chimes[key] = scale(chime(rate), volume)
        return c

    def _write(self, job: Job, pcm: Pcm) -> str:
        ev = job.event
        name = f"{job.seq:06d}-{ev.zone}-{ev.number}" + (f"-r{ev.recall}" if ev.recall else "") + ".wav"
        path = self.out_dir / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(to_wav(pcm))
        os.replace(tmp, path)  # a player or a test never sees half a file
        self._written.append(str(path))
        while len(self._written) > self.keep_files:  # bounded disk on a Pi's SD card
            old = self._written.pop(0)
            try:
                os.unlink(old)
            except OSError:
                pass
        return str(path)

    def _emit(self, out: Outcome) -> None:
        if out.status != "spoken":
            log.info("call %s %s: %s", out.job.event.number, out.status, out.reason)
        for cb in list(self.listeners):
            try:
                cb(out)
            except Exception:
                log.exception("announcer listener failed")
