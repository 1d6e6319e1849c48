"""The hall config: one YAML file, one schema, a version with migrations.

``load_config(path)`` returns a validated, frozen :class:`HallConfig` or raises
:class:`ConfigError` whose lines each name a field path and the reason, e.g.
``windows[3].serves.M999: unknown matter or bundle``.  A running process that
is handed a bad config keeps the one it has (see caller/service.py).
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError, model_validator

from .access import AccessConfig, access_problems
from .base import Ident, Names, Strict
from .cases import CasesConfig
from .devices import DevicesConfig
from .door import DoorConfig
from .forms import FormsConfig
from .kiosk import KiosksConfig
from .notify import NotifyConfig
from .privacy import PrivacyConfig
from .reports import ReportsConfig
from .queue import (Bundle, Group, HallInfo, Matter, PriorityPolicy, QueueRules,
                    ServiceHours, Window, Zone)
from .screens import ScreensConfig
from .staff import StaffMember, staff_problems
from .supervision import SupervisionConfig

CURRENT_VERSION = 2

__all__ = ["HallConfig", "ConfigError", "load_config", "parse_config", "CURRENT_VERSION",
           "Names", "Ident", "Strict"]


class ConfigError(ValueError):
    """A config refused; ``problems`` is a list of ``(path, reason)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "config"):
        self.problems = problems
        lines = "\n".join(f"  {p}: {r}" for p, r in problems)
        super().__init__(f"{source} refused:\n{lines}")


def _dupes(items: list[Any], key: str) -> list[str]:
    seen: set[str] = set()
    out = []
    for it in items:
        k = getattr(it, key)
        if k in seen:
            out.append(k)
        seen.add(k)
    return out


class HallConfig(Strict):
    version: Literal[2] = Field(description="Schema version; older files are migrated on load.")
    hall: HallInfo = Field(description="Who the hall is: id, name, time zone, languages.")
    service_hours: ServiceHours = Field(default_factory=ServiceHours, description="Opening days, periods and holidays.")
    queue: QueueRules = Field(default_factory=QueueRules, description="Recalls, no-show re-queue, boards, estimates.")
    priority: PriorityPolicy = Field(default_factory=PriorityPolicy, description="Priority classes and the calling policy.")
    groups: list[Group] = Field(min_length=1, description="Number prefix groups.")
    zones: list[Zone] = Field(min_length=1, description="Areas of the hall, each with its windows and screens.")
    matters: list[Matter] = Field(min_length=1, description="事项: what citizens come for.")
    bundles: list[Bundle] = Field(default=[], description="一件事: themed bundles of matters.")
    windows: list[Window] = Field(min_length=1, description="Service windows: 综窗 and 专窗 with their skills.")
    devices: DevicesConfig = Field(default_factory=DevicesConfig, description="Serial and input devices (bridge).")
    screens: ScreensConfig = Field(default_factory=ScreensConfig, description="Wall displays and the voice announcer.")
    kiosks: KiosksConfig = Field(default_factory=KiosksConfig, description="Kiosks: guidance, printers, timeouts.")
    notify: NotifyConfig = Field(default_factory=NotifyConfig, description="Evaluation (好差评) and SMS reminders.")
    supervision: SupervisionConfig = Field(default_factory=SupervisionConfig,
                                           description="Thresholds of the floor's alerts: long waits and queues, "
                                                       "paused or idle windows, 忙闲不均.")
    cases: CasesConfig = Field(default_factory=CasesConfig,
                               description="Cases (办件): supervision warnings, the public board, look-ups.")
    forms: FormsConfig = Field(default_factory=FormsConfig, description="Application forms: fields, per-matter "
                                                                        "forms, profile retention.")
    staff: list[StaffMember] = Field(default=[], description="The staff roster: who may log in at which "
                                                             "window's terminal, with argon2 PIN hashes.")
    door: DoorConfig = Field(default_factory=DoorConfig, description="The engine's door: rate limits per "
                                                                     "client, the queue bound, daily caps.")
    access: AccessConfig = Field(default_factory=AccessConfig,
                                 description="Who may be on the bus: the MQTT usernames of the engine, bridges, "
                                             "terminals, announcers and admins (see docs/security.md).")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig,
                                   description="How long personal data (phones, forms) is kept.")
    reports: ReportsConfig = Field(default_factory=ReportsConfig,
                                   description="Reports: the weights of the monthly 效能指数.")

    @model_validator(mode="after")
    def _cross(self) -> "HallConfig":
        errs = cross_problems(self)
        if errs:
            raise ValueError("; ".join(errs))
        return self

    # ---- lookups used by every process (built once, the model is frozen) ----
    def matter(self, mid: str) -> Matter | None:
        return self._index()["matters"].get(mid)

    def bundle(self, bid: str) -> Bundle | None:
        return self._index()["bundles"].get(bid)

    def window(self, wid: str) -> Window | None:
        return self._index()["windows"].get(wid)

    def zone(self, zid: str) -> Zone | None:
        return self._index()["zones"].get(zid)

    def group(self, prefix: str) -> Group | None:
        return self._index()["groups"].get(prefix)

    def _index(self) -> dict[str, dict[str, Any]]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {
                "matters": {m.id: m for m in self.matters},
                "bundles": {b.id: b for b in self.bundles},
                "windows": {w.id: w for w in self.windows},
                "zones": {z.id: z for z in self.zones},
                "groups": {g.prefix: g for g in self.groups},
            }
            object.__setattr__(self, "_idx", idx)  # cache on a frozen model
        return idx

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def public_dict(self) -> dict[str, Any]:
        """The config as published on the bus: without the staff roster (PIN hashes)."""
        d = self.to_json_dict()
        d.pop("staff", None)
        return d

    def staff_member(self, sid: str) -> StaffMember | None:
        return next((s for s in self.staff if s.id == sid), None)

    def digest(self) -> str:
        # of what is published, so a process holding the file and one following
        # the bus agree on it (the roster is not published)
        blob = json.dumps(self.public_dict(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def cross_problems(c: Any) -> list[str]:
    """The cross-checks of a hall config, as ``"path: reason"`` lines.

    ``c`` is a :class:`HallConfig`, or — when the schema already refused some
    fields — the raw mapping seen through :func:`_lenient`, so that one push
    is told about every problem at once, not the cross-references only after
    the typos are fixed."""
    errs: list[str] = []
    for name, items in (("groups", c.groups), ("zones", c.zones), ("matters", c.matters),
                        ("bundles", c.bundles), ("windows", c.windows)):
        key = "prefix" if name == "groups" else "id"
        for d in _dupes(items, key):
            errs.append(f"{name}: duplicate {key} {d!r}")
    for d in _dupes(c.windows, "number"):
        errs.append(f"windows: duplicate number {d!r}")
    prefixes = {g.prefix for g in c.groups}
    zones = {z.id for z in c.zones}
    matters = {m.id for m in c.matters}
    bundles = {b.id for b in c.bundles}
    if matters & bundles:
        errs.append(f"bundles: ids also used by matters: {sorted(matters & bundles)}")
    for i, m in enumerate(c.matters):
        if m.group not in prefixes:
            errs.append(f"matters[{i}].group: unknown group {m.group!r}")
        if m.zone not in zones:
            errs.append(f"matters[{i}].zone: unknown zone {m.zone!r}")
    for i, b in enumerate(c.bundles):
        if b.group not in prefixes:
            errs.append(f"bundles[{i}].group: unknown group {b.group!r}")
        if b.zone not in zones:
            errs.append(f"bundles[{i}].zone: unknown zone {b.zone!r}")
        for m in b.matters or ():
            if m not in matters:
                errs.append(f"bundles[{i}].matters: unknown matter {m!r}")
    served: set[str] = set()
    for i, w in enumerate(c.windows):
        if w.zone not in zones:
            errs.append(f"windows[{i}].zone: unknown zone {w.zone!r}")
        for s in w.serves or ():
            if s not in matters and s not in bundles:
                errs.append(f"windows[{i}].serves.{s}: unknown matter or bundle")
            served.add(s)
        for s in w.authorised or ():
            if s not in matters and s not in bundles and s not in zones:
                errs.append(f"windows[{i}].authorised: unknown matter, bundle or zone {s!r}")
    for i, m in enumerate(c.matters):
        if m.id not in served:
            errs.append(f"matters[{i}]: no window serves {m.id!r}")
    errs.extend(f"{p}: {r}" for p, r in c.devices.window_problems({w.id for w in c.windows}))
    errs.extend(f"{p}: {r}" for p, r in c.screens.zone_problems(zones))
    errs.extend(f"{p}: {r}" for p, r in c.forms.matter_problems(matters))
    errs.extend(f"{p}: {r}" for p, r in staff_problems(c.staff, {w.id for w in c.windows}))
    if isinstance(c, HallConfig):  # identities need the whole model; a refused file is told the rest
        errs.extend(f"{p}: {r}" for p, r in access_problems(c))
    return errs


class _Lenient(dict):
    """A raw mapping read like a model: ``x.field`` (None when missing)."""

    def __getattr__(self, name: str) -> Any:
        return _lenient(self.get(name))


def _lenient(v: Any) -> Any:
    if isinstance(v, dict):
        return _Lenient(v)
    if isinstance(v, list):
        return [_lenient(x) for x in v]
    return v


class _RawSections:
    """``devices`` and ``screens`` of a raw config, validated on their own so
    their cross-checks still run when another part of the file is refused."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = _lenient(raw)

    def __getattr__(self, name: str) -> Any:
        if name in _SECTIONS:
            try:
                return _SECTIONS[name].validate_python(self.raw.get(name) or _SECTION_EMPTY.get(name, {}))
            except ValidationError:
                return _NoProblems() if name != "staff" else []
        items = getattr(self.raw, name)
        return [x for x in items if isinstance(x, _Lenient)] if isinstance(items, list) else []


_SECTIONS = {"devices": TypeAdapter(DevicesConfig), "screens": TypeAdapter(ScreensConfig),
             "forms": TypeAdapter(FormsConfig), "staff": TypeAdapter(list[StaffMember])}
_SECTION_EMPTY: dict[str, Any] = {"staff": []}


class _NoProblems:
    """A section the schema refused: its own cross-checks find nothing more."""

    def __getattr__(self, _name: str) -> Any:
        return lambda *_a: []


def raw_cross_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-check problems of a config the schema refused (best effort)."""
    try:
        lines = cross_problems(_RawSections(raw))
    except Exception:  # too broken to cross-check: the schema problems say enough
        return []
    return [(p, r) if r else ("(root)", p) for p, _, r in (ln.partition(": ") for ln in lines)]


# ------------------------------------------------------------- migrations ---

def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (the pilot hall) had `recall_limit` and `noshow_minutes` at top level."""
    raw = dict(raw)
    queue = dict(raw.get("queue") or {})
    if "recall_limit" in raw:
        queue["recall_limit"] = raw.pop("recall_limit")
    if "noshow_minutes" in raw:
        queue["noshow_requeue_minutes"] = raw.pop("noshow_minutes")
    if queue:
        raw["queue"] = queue
    raw["version"] = 1
    return raw


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept the forms' two retention periods in `forms:`; every retention
    period now lives in `privacy:`."""
    raw = dict(raw)
    forms = raw.get("forms")
    if isinstance(forms, dict):
        forms = dict(forms)
        moved = {k: forms.pop(k) for k in ("profile_retention_days", "form_retention_days") if k in forms}
        if moved:
            privacy = raw.get("privacy")
            raw["privacy"] = {**(privacy if isinstance(privacy, dict) else {}), **moved}
            raw["forms"] = forms
    raw["version"] = 2
    return raw


MIGRATIONS = {0: _migrate_0_to_1, 1: _migrate_1_to_2}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    version = raw.get("version")
    if not isinstance(version, int):
        raise ConfigError([("version", f"missing or not an integer: {version!r}")])
    if version > CURRENT_VERSION:
        raise ConfigError([("version", f"{version} is newer than this software ({CURRENT_VERSION})")])
    while version < CURRENT_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["version"]
    return raw


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def parse_config(raw: Any, source: str = "config") -> HallConfig:
    if not isinstance(raw, dict):
        raise ConfigError([("(root)", "the config must be a mapping")], source)
    raw = migrate(raw)
    try:
        return HallConfig.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "value_error" and not err["loc"]:
                # the cross-checks of HallConfig: "path: reason; path: reason"
                for part in msg.split("; "):
                    path, _, reason = part.partition(": ")
                    problems.append((path, reason) if reason else ("(root)", part))
            else:
                problems.append((_loc(err["loc"]), msg))
        # the schema stops before the cross-checks: run them on the raw file too
        problems += [p for p in raw_cross_problems(raw) if p not in problems]
        raise ConfigError(problems, source) from None


# libyaml's safe loader where PyYAML has it: the pure-Python one leaves ~16 MB
# of parse garbage in a long-lived engine's heap for a 1,000-window hall
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _one_of_each(v: Any, seen: dict[str, str]) -> Any:
    """``v`` with each string (keys too) replaced by the first equal one seen."""
    if isinstance(v, str):
        return seen.setdefault(v, v)
    if isinstance(v, dict):
        return {_one_of_each(k, seen): _one_of_each(x, seen) for k, x in v.items()}
    if isinstance(v, list):
        return [_one_of_each(x, seen) for x in v]
    return v


def read_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text`` (libyaml's when present), without keeping
    the parse's memory.

    The loader builds the whole document's node graph (two position marks per
    node: ~50× the text, 15 MB for a 1,000-window hall) before it makes the
    first value, and the values it keeps are allocated among those nodes; once
    the graph is freed, Python's allocator can give an arena back to the system
    only when nothing in it survives, so a long-lived process kept ~13 MB it
    never used again.  A copy through pickle, made after the graph is gone
    (``gc.collect()``: the loader holds it in a reference cycle), puts what is
    kept in fresh memory: 14.1 → 5.3 MB of RSS for that hall's config
    (docs/benchmarks.md, "The engine's memory").  pickle rather than JSON: YAML
    gives dates (``closed_dates``) that JSON would refuse; the blob never
    leaves this function.  Equal strings are made one object first (the
    loader makes one per occurrence: a matter id in every window's ``serves``
    is 10,000 strings for 100 in a 1,000-window hall, 0.5 MB), so pickle,
    which writes an object once, gives back one shared string each."""
    blob = pickle.dumps(_one_of_each(yaml.load(text, Loader=_SAFE_LOADER), {}),
                        protocol=pickle.HIGHEST_PROTOCOL)
    gc.collect()
    return pickle.loads(blob)


def load_config(path: str | Path) -> HallConfig:
    path = Path(path)
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError([("(file)", f"cannot read {path}: {e.strerror}")], str(path)) from None
    except yaml.YAMLError as e:
        raise ConfigError([("(yaml)", str(e))], str(path)) from None
    return parse_config(raw, str(path))
