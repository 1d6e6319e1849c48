"""Kiosk and display Pis: Kivy on SDL2 KMSDRM (no X), rotation, hidden cursor,
the audio sink.  What must be done on the device itself (boot config, console
blanking) is in docs/deploy.md with the exact commands."""

from __future__ import annotations

from typing import Any

PI_NOTES = {
    # the panel's tty belongs to the kiosk/display unit: no login prompt is
    # spawned on it when the unit restarts (Conflicts=getty@tty1 in the unit)
    "logind": "[Login]\nNAutoVTs=0\nReserveVT=0\n",
}


def kivy_config(o: Any) -> str:
    """``$KIVY_HOME/config.ini``: full screen on KMSDRM, rotation for both the
    picture and the touch panel (Kivy's own input providers, no libinput), no
    cursor, no on-screen keyboard, no exit on Escape (a keyboard plugged into a
    kiosk must not close it)."""
    rot = int(o.rotation)
    if rot not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rot}")
    touch = f"probesysfs,provider=mtdev,param=rotation={rot}" if rot else "probesysfs,provider=mtdev"
    return "\n".join([
        "[graphics]",
        "fullscreen = auto",
        f"rotation = {rot}",
        "show_cursor = 0",
        "borderless = 1",
        "",
        "[kivy]",
        "exit_on_escape = 0",
        "keyboard_mode = system",
        "log_enable = 0",
        "",
        "[input]",
        "%(name)s = " + touch,
        "",
    ])


def asound_conf(card: str) -> str:
    """ALSA's default sink: the hall amplifier (HDMI or the 3.5 mm jack)."""
    return (f"# the announcer's output (aplay -l lists the cards)\n"
            f"defaults.pcm.card {card}\ndefaults.ctl.card {card}\n")
