"""Server-sent events (text/event-stream) framing, and a stream of one page's events."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Callable

HEARTBEAT_S = 15.0  # a comment line now and then: proxies keep the stream open, dead peers show


def frame(event: str, data: Any) -> bytes:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {body}\n\n".encode("utf-8")


async def stream(first: list[tuple[str, Any]], page: Any, alive: Callable[[], bool],
                 heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[bytes]:
    """The snapshot, then every event pushed to ``page`` until it closes or
    ``alive()`` turns false (the session ended: one last ``expired`` event)."""
    yield b"retry: 2000\n\n"
    for event, data in first:
        yield frame(event, data)
    while not (page.closed and page.q.empty()):  # a closed page still gets what was queued
        try:
            event, data = await asyncio.wait_for(page.q.get(), heartbeat_s)
        except asyncio.TimeoutError:
            if not alive():
                yield frame("expired", None)
                return
            yield b": ping\n\n"
            continue
        if not alive() or event == "expired":
            yield frame("expired", None)
            return
        yield frame(event, data)
