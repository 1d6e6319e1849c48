"""The touchscreen ticketing kiosk (`onewindow kiosk`).

Pure core: ``flow`` (screens as a state machine: presses, scans, replies and
the time in, ``Send`` / ``Print`` effects out), ``view`` (what each screen
shows, as data), ``guide`` (situation questions → checklist), ``search``
(pinyin initials), ``ticket_layout`` (what a ticket says), ``texts``.
Shell: ``service`` (MQTT requests with retried ids, printer worker, status),
``printer`` (ESC/POS bytes and DLE EOT status over python-escpos transports),
``fake_printer`` (pty or TCP), ``scanner`` (InputSource), ``ui`` / ``app``
(the only Kivy modules), ``cli``.
"""
