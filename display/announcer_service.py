"""The announcer process: ``zone/+/called`` in, speech out (``onewindow announcer``).

It listens to every zone and lets :class:`~display.announcer.CallQueue` decide
which are spoken, so a config change (``config/hall/current``) that switches a
zone's voice on or off takes effect without resubscribing.
"""

from __future__ import annotations

import logging
from pathlib import Path


from hall import messages as m
from hall.bus import Bus, BusSettings
from hall.clock import Clock, SystemClock
from hall.config import HallConfig
from hall.topics import REGISTRY, Parsed

from .announcer import Announcer
from .feed import published_config
from .synth import AudioSink, SpeechSynth, make_player, make_synth

log = logging.getLogger("display.announcer")


class AnnouncerService:
    def __init__(self, config: HallConfig, settings: BusSettings, out_dir: str | Path,
                 ident: str = "announcer", synth: SpeechSynth | None = None,
                 player: AudioSink | None = None, clock: Clock | None = None,
                 keep_files: int = 100, client_id: str | None = None):
        voice = config.screens.voice
        self.config = config
        self.clips = None
        if synth is None:
            synth = make_synth(voice.synth, voice.rate)
            if voice.clips_dir:  # recorded prompts first, the synthesiser for what they cannot say
                from .clips import ClipSynth
                synth = self.clips = ClipSynth(voice.clips_dir, fallback=synth)
        self.announcer = Announcer(voice, synth,
                                   player or make_player(voice.player), out_dir,
                                   clock=clock or SystemClock(), keep_files=keep_files)
        self.bus = Bus(config.hall.id, client_id or f"onewindow-announcer-{ident}", settings,
                       availability=(REGISTRY["display.availability"], ident))

    def start(self, timeout: float = 10.0) -> None:
        if self.clips is not None:
            self.clips.load()  # complete → clips; else the synthesiser, and a log line says why
        self.bus.listen(REGISTRY["zone.called"], self._on_called)
        self.bus.listen(REGISTRY["config.current"], self._on_config, ident="hall")
        self.announcer.start()
        self.bus.start(timeout)

    def stop(self) -> None:
        self.bus.stop()
        self.announcer.stop()

    def _on_called(self, p: Parsed, ev: m.CalledEvent | None) -> None:
        if ev is not None:  # typed by the bus: a malformed one was dropped there, logged
            self.announcer.say(ev)

    def _on_config(self, p: Parsed, cur: m.ConfigCurrent | None) -> None:
        cfg = published_config(cur, self.config, "voice settings")
        if cfg is None:
            return
        self.config = cfg
        self.announcer.set_voice(cfg.screens.voice)
