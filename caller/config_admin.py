"""Config governance: revisions, stale pushes, the audit trail, rollback.

Every config in force has a ``revision`` (published in ``config/hall/current``).
A push names the revision it was made from (``base``); if someone else changed
the config meanwhile the push is refused with ``stale_config`` and the current
revision, so no admin ever silently reverts another's change.

A change is applied in this order, and stops at the first failure with nothing
changed: validate (every problem at once) → base revision → settings local to
the hall server → the engine's own check (no stranded ticket) → the config file
written atomically → the engine reconfigured.  Only then is its audit record
(who, when, a unified diff of the YAML) committed with the batch and published
on ``config/hall/audit``.

Settings that send personal data out of the hall — the SMS sender (an HTTP
gateway's URL and secret) — are set in the server's own hall.yaml only: a push
that changes them is refused with ``local_only`` naming each field, and a
rollback keeps the server's values.

Green-channel codes are never published: ``config/hall/current`` carries
``codes: []``; the whole config goes only to admins (``config/<id>/request/get``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import tempfile
import zlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import msgspec
import yaml

from hall import messages as m
from hall.config import HallConfig, ConfigError, parse_config, read_yaml
from hall.errors import ErrorCode as E

from .effects import Emit, Refused

log = logging.getLogger("caller.config")
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# subtrees of the config that only the server's own file may set
LOCAL_ONLY = (("notify", "sms", "sender"), ("supervision", "sms_to"))

OPS = ("config.set", "config.get", "config.history", "config.rollback")


class StoredRevision(msgspec.Struct, kw_only=True):
    """What the store keeps per revision: the audit record and the YAML text."""

    audit: m.ConfigAudit
    yaml: str  # the whole config, as written to the file (for a rollback)
    full_digest: str = ""  # of the whole config: is the file the engine starts with this revision?


class PackedRevisions(MutableMapping[int, StoredRevision]):
    """Revision number → :class:`StoredRevision`, each held compressed.

    Every revision carries the whole config as YAML and, for the first one, a
    diff of all of it (0.75 MB for a 1,000-window hall); the engine keeps every
    revision for ``config.history`` and ``config.rollback`` — rare operations —
    and would otherwise grow by a config's size at every push for as long as
    it runs.  zlib at level 1 keeps 1/16 of it and takes ~3 ms each way."""

    def __init__(self) -> None:
        self._packed: dict[int, bytes] = {}

    def __getitem__(self, rev: int) -> StoredRevision:
        return _dec_stored.decode(zlib.decompress(self._packed[rev]))

    def __setitem__(self, rev: int, r: StoredRevision) -> None:
        self._packed[rev] = zlib.compress(_enc_stored.encode(r), 1)

    def __delitem__(self, rev: int) -> None:
        del self._packed[rev]

    def __iter__(self) -> Iterator[int]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


_enc_stored = msgspec.json.Encoder()
_dec_stored = msgspec.json.Decoder(StoredRevision)


# ------------------------------------------------------------ pure pieces --

def published_config(cfg: HallConfig) -> dict[str, Any]:
    """The config as everybody may read it: no staff roster (PIN hashes), no
    green-channel codes."""
    d = cfg.public_dict()
    for c in d.get("priority", {}).get("classes", []):
        if c.get("codes"):
            c["codes"] = []
    if d.get("supervision", {}).get("sms_to"):  # the supervisors' own mobile numbers
        d["supervision"]["sms_to"] = []
    return d


def published_digest(cfg: HallConfig) -> str:
    """A digest of the published config: it must not let anyone test guesses of a code."""
    blob = json.dumps(published_config(cfg), sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def full_digest(cfg: HallConfig) -> str:
    """Of everything, the unpublished parts too: did the file change?"""
    blob = json.dumps(cfg.to_json_dict(), sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


YAML_CHUNK = 64  # list items dumped at a time (see to_yaml)


def _dump(d: dict[str, Any]) -> str:
    # the C emitter when present: the pure-Python one takes a second for a 900-matter hall
    return yaml.dump(d, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def to_yaml(d: dict[str, Any]) -> str:
    """``d`` as block YAML, the text ``yaml.dump`` gives, made a top-level key
    and ``YAML_CHUNK`` list items at a time: PyYAML's representer builds a node
    object for every value before it emits the first line (15 MB for a
    1,000-window hall, whose YAML is 0.3 MB), and the engine makes this text at
    every start on a new database and at every push; the garbage of one whole
    graph stayed in the engine's RSS.  A block list's items are emitted one
    after another whatever their neighbours, so the pieces join into the same
    text (the config holds no shared objects, so no YAML anchors either)."""
    out: list[str] = []
    for k, v in d.items():
        if not isinstance(v, list) or len(v) <= YAML_CHUNK:
            out.append(_dump({k: v}))
            continue
        for i in range(0, len(v), YAML_CHUNK):
            text = _dump({k: v[i:i + YAML_CHUNK]})
            out.append(text if i == 0 else text.split("\n", 1)[1])  # the key's line once
    return "".join(out) if out else _dump(d)


def _lines(cfg: HallConfig) -> list[str]:
    # JSON, one key per line: YAML's emitter takes ~0.6 s for a 900-matter hall, json 0.05 s
    return json.dumps(published_config(cfg), ensure_ascii=False, indent=1).splitlines()


def unified_diff(old: HallConfig | None, new: HallConfig, old_rev: int | None, new_rev: int) -> str:
    """What changed, as a unified diff of the published config (one key per line)."""
    a = _lines(old) if old is not None else []
    b = _lines(new)
    return "\n".join(difflib.unified_diff(
        a, b, fromfile=f"revision {old_rev}" if old_rev is not None else "(none)",
        tofile=f"revision {new_rev}", lineterm="", n=2))


def redacted(d: dict[str, Any]) -> dict[str, Any]:
    """The whole config with its secrets (PIN hashes, green-channel codes) replaced
    by a short tag of each: a diff shown in a browser still says which changed."""
    def tag(kind: str, value: str) -> str:
        return f"<{kind} {hashlib.sha256(value.encode()).hexdigest()[:6]}>"
    out = json.loads(json.dumps(d))
    for s in out.get("staff") or []:
        if isinstance(s, dict) and isinstance(s.get("pin_hash"), str):
            s["pin_hash"] = tag("pin", s["pin_hash"])
    for c in (out.get("priority") or {}).get("classes") or []:
        if isinstance(c, dict) and isinstance(c.get("codes"), list):
            c["codes"] = [tag("code", str(x)) for x in c["codes"]]
    return out


def config_diff(old: dict[str, Any], new: dict[str, Any], fromfile: str, tofile: str,
                secrets: bool = True) -> str:
    """What replacing the whole config ``old`` by ``new`` changes, as a unified diff
    of their YAML (``onewindow config diff`` and the console's preview); empty if
    nothing. ``secrets=False`` shows PIN hashes and codes as tags (:func:`redacted`)."""
    if not secrets:
        old, new = redacted(old), redacted(new)
    return "\n".join(difflib.unified_diff(to_yaml(old).splitlines(), to_yaml(new).splitlines(),
                                          fromfile=fromfile, tofile=tofile, lineterm=""))


def _leaves(d: Any, path: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_leaves(v, (*path, str(k))))
        return out or {".".join(path): {}}
    return {".".join(path): d}


def _subtree(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    for p in path:
        d = d.get(p) if isinstance(d, dict) else None
    return d


def local_only_changes(old: HallConfig, new: HallConfig) -> list[str]:
    """Fields of the local-only subtrees that ``new`` would change, by path."""
    a, b = old.to_json_dict(), new.to_json_dict()
    changed = []
    for path in LOCAL_ONLY:
        la, lb = _leaves(_subtree(a, path), path), _leaves(_subtree(b, path), path)
        changed += sorted(k for k in set(la) | set(lb) if la.get(k, object()) != lb.get(k, object()))
    return changed


def with_local_settings(raw: dict[str, Any], local: HallConfig) -> dict[str, Any]:
    """``raw`` with the local-only subtrees of ``local`` (for a rollback)."""
    out = json.loads(json.dumps(raw))
    src = local.to_json_dict()
    for path in LOCAL_ONLY:
        node = out
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = _subtree(src, path)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that there is never a moment without a
    whole file: a temp file in the same folder, fsync, rename, fsync the folder.
    Raises OSError with ``path`` untouched if any step fails."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:  # keep the file's mode: other services of the hall read it too
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# ------------------------------------------------------------------ admin --

@dataclass
class ConfigOutcome:
    data: Any = None
    applied: HallConfig | None = None  # the service swaps this in (the engine already has)
    records: list[StoredRevision] = field(default_factory=list)


class ConfigAdmin:
    """The config in force, its revision and history; answers the config ops.

    No I/O in the constructor; :meth:`restore` takes the stored revisions, and
    the only file it writes is the config file (through ``write``)."""

    def __init__(self, config: HallConfig, path: str | Path | None,
                 write: Callable[[Path, str], None] = write_atomic):
        self.config = config
        self.path = Path(path) if path else None
        self._write = write
        self.revision = 0
        self.revisions = PackedRevisions()

    @property
    def latest(self) -> m.ConfigAudit | None:
        """The audit record of the revision in force, read back from the packed
        history when republished: its diff (of the whole config, for a first
        revision: 0.9 MB in memory for a 1,000-window hall) stays compressed."""
        r = self.revisions.get(self.revision)
        return r.audit if r is not None else None

    # --------------------------------------------------------- restore --
    def restore(self, stored: list[StoredRevision], now: float) -> list[StoredRevision]:
        """Load the history; if the config the engine started with is not the
        last one recorded (edited on the server), record it as a new revision."""
        for r in stored:
            self.revisions[r.audit.revision] = r
        last = self.revisions[max(self.revisions)] if self.revisions else None
        digest = published_digest(self.config)  # cheap first test; full_digest decides
        if last is not None and last.audit.digest == digest and last.full_digest == full_digest(self.config):
            self.revision = last.audit.revision
            return []
        prev = _parse_stored(last) if last is not None else None
        rev = (last.audit.revision + 1) if last is not None else 0
        self.revision = last.audit.revision if last is not None else 0
        rec = self._record(rev, now, "local file", None, "start", None, prev, self.config)
        return [rec]

    def _record(self, rev: int, now: float, who: str, by: str | None, action: str, base: int | None,
                old: HallConfig | None, new: HallConfig, rollback_of: int | None = None,
                text: str | None = None) -> StoredRevision:
        audit = m.ConfigAudit(revision=rev, at=now, who=who, by=by, action=action,  # type: ignore[arg-type]
                              base=base, digest=published_digest(new),
                              diff=unified_diff(old, new, self.revision if old is not None else None, rev),
                              rollback_of=rollback_of)
        stored = StoredRevision(audit=audit, yaml=text if text is not None else to_yaml(new.to_json_dict()),
                                full_digest=full_digest(new))
        self.revisions[rev] = stored
        self.revision, self.config = rev, new
        return stored

    # ----------------------------------------------------------- views --
    def current(self) -> m.ConfigCurrent:
        return m.ConfigCurrent(version=self.config.version, digest=published_digest(self.config),
                               config=published_config(self.config), revision=self.revision)

    def republish(self) -> list[Emit]:
        out = [Emit("config.current", "hall", self.current())]
        latest = self.latest
        if latest is not None:
            out.append(Emit("config.audit", "hall", latest))
        return out

    # ------------------------------------------------------------- ops --
    def handle(self, op: str, ident: str, req: Any, engine: Any, now: float) -> ConfigOutcome:
        """Answer one config op; raises :class:`Refused` having changed nothing."""
        if op == "config.get":
            return ConfigOutcome(data=m.ConfigRevision(
                revision=self.revision, digest=published_digest(self.config),
                config=self.config.to_json_dict(), yaml=to_yaml(self.config.to_json_dict())))
        if op == "config.history":
            recs = [self.revisions[r].audit for r in sorted(self.revisions, reverse=True)[:req.limit]]
            return ConfigOutcome(data=m.ConfigHistory(revisions=recs))
        if op == "config.rollback":
            old = self.revisions.get(req.revision)
            if old is None:
                raise Refused(E.UNKNOWN_REVISION, f"no revision {req.revision}; revisions "
                              f"{min(self.revisions, default=0)}–{self.revision} are kept")
            raw = with_local_settings(read_yaml(old.yaml), self.config)
            return self._change(raw, req.base, ident, req.by, "rollback", engine, now, rollback_of=req.revision)
        return self._change(req.config, req.base, ident, req.by, "push", engine, now)

    def _change(self, raw: dict[str, Any], base: int, who: str, by: str | None, action: str,
                engine: Any, now: float, rollback_of: int | None = None) -> ConfigOutcome:
        try:
            new = parse_config(raw, "pushed config")
        except ConfigError as e:
            raise Refused(E.BAD_CONFIG, "; ".join(f"{p}: {r}" for p, r in e.problems)) from None
        if base != self.revision:
            raise Refused(E.STALE_CONFIG, f"this push is based on revision {base}, but revision "
                          f"{self.revision} is in force (changed by {self._who(self.revision)}); "
                          f"get it, make your change again and push with base {self.revision}")
        fields = local_only_changes(self.config, new)
        if fields:
            raise Refused(E.LOCAL_ONLY, ", ".join(fields) + ": set in the hall server's own config file "
                          "only (it routes personal data out of the hall); a push may not change it")
        problem = engine.reconfigure_problem(new)
        if problem:
            raise Refused(E.CONFIG_CONFLICT, problem)
        rev = self.revision + 1
        text = to_yaml(new.to_json_dict())
        if self.path is not None:
            header = (f"# hall config revision {rev}, written by the engine ({action} by {by or who}); "
                      "see `onewindow config history`\n")
            try:
                self._write(self.path, header + text)
            except OSError as e:
                log.error("config revision %d not written to %s: %s; the running config stays", rev,
                          self.path, e)
                raise Refused(E.CONFIG_WRITE_FAILED, f"cannot write {self.path}: {e.strerror or e}; "
                              "nothing changed") from None
        engine.reconfigure(new)
        old = self.config
        rec = self._record(rev, now, who, by, action, base, old, new, rollback_of, text)
        log.info("config revision %d in force (%s by %s%s)", rev, action, who, f" / {by}" if by else "")
        # config/hall/current and config/hall/audit go out with the republish the new config causes
        return ConfigOutcome(data=m.ConfigApplied(revision=rev, digest=rec.audit.digest), applied=new,
                             records=[rec])

    def _who(self, rev: int) -> str:
        r = self.revisions.get(rev)
        return (r.audit.by or r.audit.who) if r else "?"


def _parse_stored(r: StoredRevision) -> HallConfig | None:
    try:
        return parse_config(read_yaml(r.yaml), f"revision {r.audit.revision}")
    except ConfigError:  # an older schema's file: the diff starts from nothing
        return None
