"""The console's config operations: preview with a diff, then the revisioned push.

The web process speaks to the engine's config ops with an admin identity of
its own (``access.admins``, ``onewindow web serve --admin-id``), not with its
terminal login: ``config/<admin-id>/request/get|set|history|rollback``, the
same ops ``onewindow config`` uses. The engine's audit record names that
identity (``who``) and the console account that made the change (``by``).

A change is two steps. :meth:`preview` fetches the config in force, applies
the operation to it (web/console/config_ops.py) or takes an imported file,
validates the result exactly as the engine validates a pushed file
(:func:`hall.config.parse_config`: schema and cross-checks), and keeps it
under a one-use token with the revision it was made from and the diff shown.
:meth:`apply` pushes exactly that, with that ``base``: if anyone changed the
config meanwhile the engine refuses it (``stale_config``) and nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any, Callable

import yaml

from caller.config_admin import config_diff
from hall import messages as m
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.config import ConfigError, HallConfig, parse_config
from hall.config_cli import revision_of, revision_text
from hall.topics import REGISTRY

from . import config_ops

log = logging.getLogger("web.config")

PREVIEW_TTL_S = 15 * 60
MAX_PREVIEWS = 200  # kept at once (a few admins; a bound against a loop of clicks)


class ConfigRefused(Exception):
    """A change refused before anything was sent, or by the engine: ``code``, a
    message, and for a refused config every ``(path, reason)``."""

    def __init__(self, code: str, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.code, self.message, self.problems = code, message, problems or []


@dataclass
class Preview:
    token: str
    account: str
    base: int
    config: dict[str, Any]
    diff: str
    summary: str
    made_at: float


class ConfigDesk:
    """No I/O in the constructor: :meth:`start` connects the admin identity."""

    def __init__(self, hall_id: str, settings: BusSettings | None, admin_id: str | None,
                 hash_pin: Callable[[str], str], timeout_s: float = 15.0):
        self.hall_id = hall_id
        self.admin_id = admin_id
        self.settings = settings
        self.timeout_s = timeout_s
        self.ops = config_ops.operations(hash_pin)
        self.previews: dict[str, Preview] = {}
        self.bus: Bus | None = None
        self.requester: Requester | None = None
        self.alerts: Requester | None = None
        # told each new config revision (whoever made it: this console, `onewindow config`, a
        # file edited on the server), e.g. to take up a new staff roster without a restart
        self.on_config: Callable[[HallConfig], None] | None = None
        self.followed = -1  # the revision on_config was last given
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def enabled(self) -> bool:
        return self.admin_id is not None and self.settings is not None

    def start(self) -> None:
        if not self.enabled:
            return
        assert self.settings is not None and self.admin_id is not None
        s = replace(self.settings, username=self.settings.username or self.admin_id)
        # the broker makes the username the client id (use_username_as_clientid): this
        # login must not be the one `onewindow config` uses, or each would drop the other
        self.bus = Bus(self.hall_id, f"{self.admin_id}-web-{self.hall_id}", s)
        self.requester = Requester(self.bus, "config", self.admin_id)
        self.requester.subscribe_all()
        # the same admin identity acknowledges case warnings (alert/<admin-id>/request/case_ack)
        self.alerts = Requester(self.bus, "alert", self.admin_id)
        self.alerts.subscribe_all()
        self.bus.listen(REGISTRY["config.audit"], self._on_audit)  # retained: the latest comes at once
        try:
            self.bus.start()
        except TimeoutError as e:  # the pages say so; paho keeps trying
            log.error("config operations: the admin identity %s did not connect: %s", self.admin_id, e)

    def stop(self) -> None:
        if self.bus is not None:
            self.bus.stop()

    def _on_audit(self, parsed: Any, audit: m.ConfigAudit | None) -> None:  # paho's thread; typed by the bus
        if audit is None:
            return
        revision = audit.revision
        if revision != self.followed and self._loop is not None and self.on_config is not None:
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.follow()))

    async def follow(self) -> None:
        """Fetch the config in force and hand it to ``on_config``."""
        try:
            cur = await self.current()
            cfg = parse_config(cur["config"], f"revision {cur['revision']}")
        except (ConfigRefused, ConfigError) as e:
            log.error("config revision not taken up: %s", e)
            return
        if cur["revision"] != self.followed and self.on_config is not None:
            self.on_config(cfg)
            self.followed = cur["revision"]
            log.info("config revision %d taken up", cur["revision"])

    # ------------------------------------------------------------ bus --
    async def _call(self, op: str, body: dict[str, Any], kind: str = "config") -> Any:
        requester = self.requester if kind == "config" else self.alerts
        if requester is None:
            raise ConfigRefused("no_admin_identity", "this console has no admin identity on the bus "
                                "(onewindow web serve --admin-id): config operations and case "
                                "acknowledgements are off")
        try:
            return await asyncio.to_thread(requester.call, op, body, timeout=self.timeout_s, retries=1)
        except RequestError as e:
            raise ConfigRefused(e.code, e.message) from None

    async def ack_case(self, case: str) -> dict:
        """Tell the engine a supervisor has seen a case's warning: it keeps the acknowledged
        colour with the case (across restarts, on the retained ``alert/<case>/case`` every
        console reads). Acknowledging again answers the same; a new colour needs a new one."""
        return await self._call("case_ack", {"case": case}, kind="alert")

    async def current(self) -> dict[str, Any]:
        """``{revision, digest, config, yaml}``: the whole config in force (secrets included)."""
        return await self._call("get", {})

    async def export(self) -> str:
        return revision_text(await self.current())

    async def history(self, limit: int = 50) -> list[dict]:
        return (await self._call("history", {"limit": limit}))["revisions"]

    # --------------------------------------------------------- changes --
    async def preview(self, account: str, op_id: str, subject: str, params: dict, now: float) -> Preview:
        op = self.ops.get(op_id)
        if op is None:
            raise ConfigRefused("unknown_operation", f"no operation {op_id!r}")
        cur = await self.current()
        try:
            new, summary = config_ops.apply(op, cur["config"], subject, params)
        except config_ops.OpError as e:
            raise ConfigRefused("bad_input", str(e), [(e.field, str(e).split(": ", 1)[-1])]) from None
        return self._keep(account, cur, new, summary, now)

    async def preview_import(self, account: str, text: str, now: float) -> Preview:
        """A whole config file (as `onewindow config get --out` writes it): its first line names the
        revision it was made from, which becomes the push's base; a file without one is
        compared with, and pushed over, the revision in force now."""
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigRefused("bad_config", f"not YAML: {e}", [("(yaml)", str(e))]) from None
        cur = await self.current()
        base = revision_of(text)
        p = self._keep(account, cur, raw, "导入整份配置" + (f"（基于修订 {base}）" if base is not None else ""), now)
        if base is not None:
            p.base = base
        return p

    def _keep(self, account: str, cur: dict, new: Any, summary: str, now: float) -> Preview:
        try:
            new = parse_config(new, "this change").to_json_dict()  # exactly as the engine will read it
        except ConfigError as e:
            raise ConfigRefused("bad_config", "the changed config is refused", e.problems) from None
        diff = config_diff(cur["config"], new, f"revision {cur['revision']}", "with this change", secrets=False)
        if not diff:
            raise ConfigRefused("no_change", "this changes nothing in the config in force")
        self._expire(now)
        p = Preview(secrets.token_urlsafe(18), account, cur["revision"], new, diff, summary, now)
        self.previews[p.token] = p
        return p

    def _expire(self, now: float) -> None:
        for t, p in list(self.previews.items()):
            if now - p.made_at > PREVIEW_TTL_S:
                del self.previews[t]
        while len(self.previews) >= MAX_PREVIEWS:
            del self.previews[next(iter(self.previews))]

    async def apply(self, account: str, token: str, now: float) -> dict:
        """Push the previewed config with its base; one use."""
        self._expire(now)
        p = self.previews.get(token)
        if p is None or p.account != account:
            raise ConfigRefused("no_preview", "this preview has expired or was applied already; open the "
                                "operation again")
        del self.previews[token]
        data = await self._call("set", {"config": p.config, "base": p.base, "by": account})
        log.info("console: %s put config revision %s in force (%s)", account, data["revision"], p.summary)
        return {"revision": data["revision"], "digest": data["digest"], "summary": p.summary}

    async def rollback(self, account: str, revision: int, base: int) -> dict:
        data = await self._call("rollback", {"revision": revision, "base": base, "by": account})
        log.info("console: %s rolled the config back to revision %d (now %s)", account, revision,
                 data["revision"])
        return data
