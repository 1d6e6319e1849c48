"""The device bridge: window hardware ⇄ the hall bus (`onewindow bridge`).

Pure protocol and presentation (no I/O):
  frames.py        OWB/1, our RS-485 protocol: CRC16, frames, parser, payloads
  legacy68.py      the "FF 68 … 16" framing of deployed third-party callers/evaluators
  ledbar.py        what an LED bar shows for a window state (GB2312)
  keypad.py        keypad display, and keys → window requests
  evaluator.py     one rating per visit, by the citizen's own key

Drivers and shells:
  driver.py        one RS-485 line: send views, poll keys, faults and backoff
  owb_driver.py    OWB/1 behind the driver interface
  legacy_driver.py FF-68 behind the same interface
  inputs.py        USB keypads and scanners at a window (on hall/evdev_reader.py)
  bridge.py        the MQTT shell (hall.bus): states → views, keys → requests
  scan.py          `onewindow bridge --scan`: who answers at which address
  cli.py           `onewindow bridge`

Fakes: fakes/ (pty devices with quirks), demo_rig.py (fakes + a running bridge).
Shared with other processes, in hall/: seriallink.py (ByteLink over pyserial,
Backoff; also the SMS sender's modem link), evdev_reader.py (decode, grab,
reopen; also the kiosk's scanners).  Protocol and wiring: docs/hardware.md.
"""
