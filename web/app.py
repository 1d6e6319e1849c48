"""The app factory of `onewindow web`: one Starlette app, one router per area.

``create_app(ctx)`` builds the app around a :class:`WebContext` (config, bus
hub, auth, clock). Nothing here connects to anything: the lifespan starts the
hub (unless the caller already did) and attaches the desks to the loop.
Areas mount under their own prefix: ``/terminal`` (the clerk's window
terminal) and ``/admin`` (the admin and supervisor console).
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hall import sdnotify
from hall.clock import Clock, SystemClock
from hall.config import HallConfig

from hall.bus import BusSettings

from .auth import Auth, hash_pin
from .busclient import Hub
from .console.accounts import ConsoleAuth
from .console.acks import AckStore
from .console.config_desk import ConfigDesk
from .console.live import Console
from .terminal.desk import Desks

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# the pages are served to the hall LAN only and load nothing from elsewhere
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@dataclass
class WebContext:
    cfg: HallConfig
    hub: Hub
    auth: Auth
    clock: Clock = field(default_factory=SystemClock)
    cookie_secure: bool = True
    start_hub: bool = True
    # the admin console: its accounts (not the staff roster) and its acknowledgements
    accounts: ConsoleAuth = field(default_factory=lambda: ConsoleAuth([]))
    acks: AckStore = field(default_factory=lambda: AckStore(":memory:"))
    # the console's config operations speak as this admin identity (None: they are off)
    admin_id: str | None = None
    admin_bus: BusSettings | None = None
    history_db: str | None = None  # the engine's database, read-only: the reports' daily aggregates
    desks: Desks = field(init=False)
    console: Console = field(init=False)
    config_desk: ConfigDesk = field(init=False)

    def __post_init__(self) -> None:
        self.desks = Desks(self.cfg, self.hub)
        self.console = Console(self.cfg, self.hub, self.acks)
        self.config_desk = ConfigDesk(self.cfg.hall.id, self.admin_bus, self.admin_id, hash_pin)
        # a config changed in the console (or by `onewindow config push`) holds at once
        self.config_desk.on_config = self.take_config

    def take_config(self, cfg: HallConfig) -> None:
        """A new config revision in force: the roster, the windows, the matters and every
        name shown hold from now on, and the open terminals and dashboards are redrawn."""
        self.cfg = cfg
        self.auth.set_roster(cfg.staff)
        self.desks.take_config(cfg)
        self.console.take_config(cfg)


class _Headers:
    """Security headers on every response (plain ASGI: event streams pass untouched)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null`
        # with a form POST, and the terminal refuses POSTs whose Origin is not its own
        extra = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"same-origin")]
        if scope["path"].startswith(("/terminal", "/admin")):
            extra.append((b"cache-control", b"no-store"))  # the form must not stay in a cache

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in have]
            await send(message)
        await self.app(scope, receive, send_with_headers)


def create_app(ctx: WebContext) -> Starlette:
    import asyncio

    from .console import routes as console
    from .terminal import routes as terminal

    async def watchdog() -> None:
        # the pings come from the event loop itself: a loop blocked by a slow
        # call stops them, and systemd restarts the process (hall/sdnotify.py)
        sdnotify.watch("web-loop")
        while True:
            sdnotify.beat("web-loop")
            await asyncio.sleep(1.0)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        ctx.desks.attach(asyncio.get_running_loop())
        ctx.console.attach(asyncio.get_running_loop())
        ctx.config_desk.attach(asyncio.get_running_loop())
        ctx.acks.open()
        if ctx.start_hub:
            await asyncio.to_thread(ctx.hub.start)
            await asyncio.to_thread(ctx.config_desk.start)
        dog = asyncio.ensure_future(watchdog())
        if ctx.history_db and os.path.exists(ctx.history_db):
            from .console import reports  # its drawing processes start now, not with the first report
            reports.start_pool()
        # what start-up built (config, templates, search index) lives as long as the
        # process: out of the cyclic collector's generations, as in the engine
        gc.freeze()
        sdnotify.NOTIFIER.ready(f"window terminal of hall {ctx.cfg.hall.id}")
        try:
            yield
        finally:
            sdnotify.NOTIFIER.stopping()
            dog.cancel()
            sdnotify.unwatch("web-loop")
            if ctx.start_hub:
                await asyncio.to_thread(ctx.hub.stop)
                await asyncio.to_thread(ctx.config_desk.stop)
            ctx.acks.close()
            from .console import reports
            reports.stop_pool()

    async def home(request):
        return RedirectResponse("/terminal/", status_code=303)

    app = Starlette(
        routes=[Route("/", home),
                Mount("/terminal", routes=terminal.routes()),
                Mount("/admin", routes=console.routes()),
                Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static")],
        middleware=[Middleware(_Headers)], lifespan=lifespan)
    app.state.ctx = ctx
    return app


def context(request: Any) -> WebContext:
    return request.app.state.ctx
