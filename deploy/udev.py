"""udev rules of a Pi: stable names and group permissions for its devices.

* RS-485 adapters by their USB serial number (``ATTRS{serial}``): the same
  adapter keeps the same name (``/dev/onewindow/rs485-<line>``) whichever USB
  port it is in — ``/dev/ttyUSB0`` follows plug order.
* The kiosk's USB ticket printer by vendor:product, group ``lp``.
* Keyboard-mode scanners, ID-card readers and keypads are evdev nodes, group
  ``input`` (Debian's default 0660); the rule only adds the ``onewindow/``
  names the hall config can point at.
"""

from __future__ import annotations

from typing import Any


def udev_rules(o: Any) -> str:
    lines: list[str] = []
    for line_id, serial in o.rs485:
        lines.append(f'SUBSYSTEM=="tty", ATTRS{{serial}}=="{serial}", SYMLINK+="onewindow/rs485-{line_id}", '
                     'GROUP="dialout", MODE="0660"')
    if o.printer_usb:
        vid, _, pid = o.printer_usb.partition(":")
        for sub in ("usbmisc", "tty"):
            lines.append(f'SUBSYSTEM=="{sub}", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", '
                         f'SYMLINK+="onewindow/printer", GROUP="{"lp" if sub == "usbmisc" else "dialout"}", '
                         'MODE="0660"')
    if o.role in ("kiosk", "bridge"):
        lines.append('SUBSYSTEM=="input", KERNEL=="event*", ENV{ID_INPUT_KEYBOARD}=="1", ENV{ID_SERIAL}=="?*", '
                     'SYMLINK+="onewindow/input-$env{ID_SERIAL}", GROUP="input", MODE="0660"')
    if not lines:
        return ""
    return "# written by `onewindow install`; reload: udevadm control --reload && udevadm trigger\n" + \
        "\n".join(lines) + "\n"
