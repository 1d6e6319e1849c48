"""`onewindow web`: the people-facing pages of the hall, one process on the bus.

Built to grow area by area (the window terminal now; the admin and
supervisor console and case pages later), each area a router of its own:

* ``app``        — the app factory: routes, templates, static assets, lifespan
* ``auth``       — roster, argon2 PIN check, lock-out, sessions, roles (pure, clock injected)
* ``busclient``  — the process's one MQTT connection: retained state in,
                   requests out with retried ids, fan-out to live pages
* ``sse``        — server-sent events framing
* ``terminal/``  — the clerk's window terminal (``desk``: one window's live
                   state; ``view``: what the page shows; ``routes``)
* ``templates/``, ``static/`` — Jinja2 templates; every asset served locally
  (the hall LAN has no internet)
* ``cli``        — ``onewindow web serve`` / ``onewindow web pin-hash``
"""
