"""Ticket printers: the `TicketPrinter` interface, ESC/POS rendering and status.

* Chinese is encoded to GB18030 here and sent with ``_raw``: python-escpos 3.1
  sends a string with a Han character as GB18030 but turns full-width
  punctuation without one (`：`, `（`) into `?`.  ``FS &`` puts Chinese printers
  (Xprinter, Gprinter, Epson TM-T20II-C) into double-byte mode.
* Status comes from real-time queries ``DLE EOT 1`` (printer: bit 3 offline)
  and ``DLE EOT 4`` (roll paper: bits 2–3 near end, bits 5–6 paper end).
  python-escpos' ``paper_status()`` reads an empty reply as "paper OK";
  here silence is ``unknown``, never OK.
* The escpos object (and so the serial port or socket) is opened lazily by
  ``open()``, never in a constructor, so a missing printer at boot is a
  status, not a crash, and the next print retries the open.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from hall.config.kiosk import PrinterConfig

from .ticket_layout import Line, Qr, Rule, TicketDoc

log = logging.getLogger("kiosk.printer")

ESC, GS, FS, DLE, EOT = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
STATUS_PRINTER = DLE + EOT + b"\x01"
STATUS_PAPER = DLE + EOT + b"\x04"


class PrintError(Exception):
    """The ticket was not (fully) printed; ``reason`` goes to the engine."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PrinterStatus:
    state: str                  # ok | near_end | paper_out | offline | unknown
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state in ("ok", "near_end")


def _valid(b: int) -> bool:
    # Bits 1 and 4 are fixed 1, bits 0 and 7 fixed 0 in every DLE EOT reply.
    return b & 0x93 == 0x12


def parse_status(printer: bytes | None, paper: bytes | None) -> PrinterStatus:
    """Pure: the two status bytes (or None for no reply) → a state."""
    detail: dict[str, Any] = {}
    p = printer[0] if printer else None
    r = paper[0] if paper else None
    if p is not None:
        detail["printer_byte"] = p
    if r is not None:
        detail["paper_byte"] = r
    if (p is None or not _valid(p)) and (r is None or not _valid(r)):
        detail["reason"] = "no reply to DLE EOT" if p is None and r is None else "garbled reply"
        return PrinterStatus("unknown", detail)
    if r is not None and _valid(r) and r & 0x60:
        return PrinterStatus("paper_out", detail)
    if p is not None and _valid(p) and p & 0x08:
        return PrinterStatus("offline", detail)
    if r is not None and _valid(r) and r & 0x0C:
        return PrinterStatus("near_end", detail)
    return PrinterStatus("ok", detail)


class TicketPrinter(Protocol):
    def status(self) -> PrinterStatus: ...

    def print(self, doc: TicketDoc) -> None:
        """Print or raise :class:`PrintError`."""


# ------------------------------------------------------------- rendering ---

def profile_info(profile: str) -> dict[str, Any]:
    from escpos.capabilities import get_profile
    p = get_profile(profile)
    media = p.profile_data.get("media", {}).get("width", {})
    pixels = media.get("pixels")
    pixels = int(pixels) if isinstance(pixels, (int, float)) or str(pixels).isdigit() else 384
    return {"pixels": pixels, "cols": pixels // 12, "native_qr": bool(p.supports("qrCode")),
            "cut": bool(p.supports("paperFullCut") or p.supports("paperPartCut"))}


def cols_for(profile: str) -> int:
    return profile_info(profile)["cols"]


def render(esc: Any, doc: TicketDoc, cfg: PrinterConfig) -> None:
    """Write ``doc`` to a python-escpos printer object (any transport, or Dummy)."""
    info = profile_info(cfg.profile)
    native = cfg.qr == "native" or (cfg.qr == "auto" and info["native_qr"])
    out = bytearray(INIT + CHINESE_ON)
    align, bold, scale = "left", False, 1
    for item in doc.items:
        if isinstance(item, Line):
            if item.align != align:
                out += ESC + b"a" + (b"\x01" if item.align == "center" else b"\x00")
                align = item.align
            if item.bold != bold:
                out += ESC + b"E" + (b"\x01" if item.bold else b"\x00")
                bold = item.bold
            if item.scale != scale:
                n = item.scale - 1
                out += GS + b"!" + bytes([(n << 4) | n])
                # FS ! doubles Han characters on printers that ignore GS ! for them.
                out += FS + b"!" + (b"\x0c" if item.scale >= 2 else b"\x00")
                scale = item.scale
            out += item.text.encode("gb18030") + b"\n"
        elif isinstance(item, Rule):
            if scale != 1:
                out += GS + b"!\x00" + FS + b"!\x00"
                scale = 1
            out += b"-" * info["cols"] + b"\n"
        elif isinstance(item, Qr):
            if align != "center":
                out += ESC + b"a\x01"
                align = "center"
            esc._raw(bytes(out))
            out = bytearray()
            if native:
                esc.qr(item.data, size=6, native=True)
                out += b"\n"
            else:
                esc.qr(item.data, size=6, native=False, center=True)
    out += ESC + b"a\x00" + GS + b"!\x00" + FS + b"!\x00" + ESC + b"E\x00"
    esc._raw(bytes(out))
    if info["cut"]:
        esc.cut()
    else:
        esc._raw(ESC + b"d\x05")  # feed past the tear bar of cutterless 58 mm printers


def render_bytes(doc: TicketDoc, cfg: PrinterConfig) -> bytes:
    """The exact bytes of a ticket (golden tests and the bench)."""
    from escpos.printer import Dummy
    d = Dummy(profile=cfg.profile)
    render(d, doc, cfg)
    return d.output


# ------------------------------------------------------------- printers ---

class EscposTicketPrinter:
    """A thermal printer over a python-escpos transport (serial or network).

    ``opener`` builds the escpos object; it is called on first use and again
    after any I/O error, so an unplugged printer recovers when plugged in.
    """

    def __init__(self, cfg: PrinterConfig, opener: Callable[[], Any] | None = None):
        self.cfg = cfg
        self._opener = opener or self._default_opener
        self._esc: Any = None
        self._lock = threading.Lock()

    def _default_opener(self) -> Any:
        try:
            from escpos import printer as ep
        except ImportError as e:  # pragma: no cover - a declared dependency
            raise PrintError("python-escpos is missing (pip install python-escpos)") from e
        c = self.cfg
        if c.type == "serial":
            if not c.device:
                raise PrintError("printer.device is not set")
            # dsrdtr off: USB-serial thermal printers rarely wire DSR, and a pty has no modem lines.
            esc = ep.Serial(devfile=c.device, baudrate=c.baudrate, timeout=c.status_timeout_s,
                            dsrdtr=False, profile=c.profile)
        elif c.type == "network":
            host, _, port = (c.device or "").partition(":")
            esc = ep.Network(host=host, port=int(port or 9100), timeout=c.status_timeout_s, profile=c.profile)
        else:
            raise PrintError(f"printer type {c.type} has no escpos transport")
        esc.open()
        return esc

    def open(self) -> None:
        with self._lock:
            self._ensure()

    def _ensure(self) -> Any:
        if self._esc is None:
            try:
                self._esc = self._opener()
            except PrintError:
                raise
            except Exception as e:
                raise PrintError(f"cannot open printer: {e}") from e
        return self._esc

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        esc, self._esc = self._esc, None
        if esc is not None:
            try:
                esc.close()
            except Exception:
                pass

    def _query(self, esc: Any, cmd: bytes) -> bytes | None:
        dev = esc.device
        if hasattr(dev, "reset_input_buffer"):
            dev.reset_input_buffer()  # a stale byte would answer the wrong question
        esc._raw(cmd)
        if hasattr(dev, "read"):       # pyserial: returns at the first byte or at the timeout
            data = dev.read(1)
        else:                          # socket (Network)
            try:
                data = dev.recv(1)
            except OSError:
                data = b""
        return data or None

    def status(self) -> PrinterStatus:
        with self._lock:
            try:
                esc = self._ensure()
                printer = self._query(esc, STATUS_PRINTER)
                paper = self._query(esc, STATUS_PAPER)
            except PrintError as e:
                return PrinterStatus("offline", {"reason": e.reason})
            except Exception as e:
                self._drop()
                return PrinterStatus("offline", {"reason": str(e)})
        return parse_status(printer, paper)

    def print(self, doc: TicketDoc) -> None:
        st = self.status()
        if not st.ok and not (st.state == "unknown" and self.cfg.print_when_unknown):
            raise PrintError(f"printer {st.state}")
        with self._lock:
            try:
                esc = self._ensure()
                render(esc, doc, self.cfg)
                dev = esc.device
                if hasattr(dev, "flush"):
                    dev.flush()
            except PrintError:
                raise
            except Exception as e:
                self._drop()
                raise PrintError(f"write failed: {e}") from e
