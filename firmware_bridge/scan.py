"""Find the devices on an OWB/1 line: PING every address, report who answers.

For installers: a unit set to the wrong address shows up here at the address
it really has (``onewindow bridge --scan --config …``), next to what the config
expects.  Legacy FF-68 units are probed with a poll, which they all answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hall.config.devices import Line
from hall.seriallink import ByteLink

from . import frames as F
from . import legacy68 as L


@dataclass(frozen=True)
class Found:
    address: int
    kind: str
    firmware: str = ""


def scan_line(line: Line, link: ByteLink, addresses=range(1, F.MAX_ADDR + 1),
              timeout_s: float | None = None, tries: int = 2) -> list[Found]:
    """Probe each address (``tries`` times); the link must be open.  The default
    timeout is the wire time of PING + INFO plus 20 ms: all 247 addresses take
    ~11 s at 115200 baud, ~20 s at 9600."""
    if timeout_s is None:
        timeout_s = F.wire_ms(7 + 11, line.baud) / 1000 + 0.02
    found = []
    for addr in addresses:
        for _ in range(tries):
            hit = _probe(line, link, addr, timeout_s)
            if hit is not None:
                found.append(hit)
                break
    return found


def _probe(line: Line, link: ByteLink, addr: int, timeout_s: float) -> Found | None:
    if line.protocol == "onewindow":
        parser = F.FrameParser()
        link.write(F.encode(addr, F.PING, seq=addr & 0x0F))
    else:
        parser = L.LegacyParser()
        link.write(L.encode(addr, L.POLL))
    end = time.monotonic() + timeout_s
    while (left := end - time.monotonic()) > 0:
        for msg in parser.feed(link.read(left)):
            if line.protocol == "onewindow":
                if msg.reply and msg.addr == addr and msg.cmd == F.INFO and len(msg.payload) >= 3:
                    kind = F.KIND_NAMES.get(msg.payload[0], f"kind {msg.payload[0]}")
                    return Found(addr, kind, f"{msg.payload[1]}.{msg.payload[2]}")
            elif msg.addr == addr and (msg.func == L.NOTHING or msg.func in L.KEYS):
                return Found(addr, "legacy68 unit")
    return None


def report(line: Line, found: list[Found], configured: dict[int, tuple[str, str]]) -> list[str]:
    """Lines of text: every address found or configured, with what is wrong."""
    out = []
    seen = {f.address: f for f in found}
    for addr in sorted(set(seen) | set(configured)):
        f, c = seen.get(addr), configured.get(addr)
        if f and c:
            ok = line.protocol != "onewindow" or f.kind == c[1]
            note = "ok" if ok else f"configured as {c[1]}"
            out.append(f"{line.id} {addr:3d}  {f.kind:<13} {f.firmware:<5} {c[0]:<16} {note}")
        elif f:
            out.append(f"{line.id} {addr:3d}  {f.kind:<13} {f.firmware:<5} {'-':<16} not in the config")
        else:
            out.append(f"{line.id} {addr:3d}  {'-':<13} {'':<5} {c[0]:<16} configured, no answer")
    return out
