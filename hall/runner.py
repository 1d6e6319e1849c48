"""Run a service process until systemd (or Ctrl-C) stops it."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Callable, Protocol

import click

from . import sdnotify

log = logging.getLogger("hall.runner")


class Service(Protocol):
    def start(self, timeout: float = ...) -> None: ...

    def stop(self) -> None: ...


def serve(svc: Service, what: str, *, start_timeout: float = 30.0,
          failed: Callable[[], bool] = lambda: False, fail_code: int = 3) -> None:
    """Start ``svc``, wait for SIGTERM/SIGINT, stop it.

    ``failed()`` is polled once a second: a service that can no longer trust
    its own state (the engine's store failed) exits with ``fail_code`` so that
    systemd's ``Restart=on-failure`` starts it afresh from disk.
    """
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        svc.start(timeout=start_timeout)
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    log.info("%s running", what)
    sdnotify.NOTIFIER.ready(what)
    while not done.wait(1.0):
        if failed():
            log.critical("%s failed; exiting for a restart", what)
            sdnotify.NOTIFIER.stopping()
            svc.stop()
            sys.exit(fail_code)
    sdnotify.NOTIFIER.stopping()
    svc.stop()
    log.info("%s stopped", what)
