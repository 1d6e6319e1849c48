"""`onewindow acl`: the mosquitto ACL of a hall, generated from its config.

Every identity of the config (:func:`hall.config.access.identities`: the
engine, each kiosk, display, announcer, bridge, terminal, the SMS sender and
each admin) gets a ``user`` block listing exactly the topics it may read and
write, nothing by pattern: an unknown login gets no line and so no topic.

Who may do what is one table, :data:`RULES` (events and retained state) plus
:func:`_request_rule` (requests and replies, by the kind they speak as). A
registry entry without a rule makes :func:`render_acl` fail, so a new topic
cannot ship without deciding who may publish it (``tests/test_acl.py``).

Scopes say which ids a grant covers: ``self`` (the identity's own id),
``windows`` (the windows of a bridge or terminal), ``devices`` (the
``device/<id>`` topics it owns: a bridge's devices, a kiosk's printer),
``scanners`` (a bridge's scanners; a terminal: the scanners at its windows) or ``all`` (``+``).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import click

from .config import ConfigError, HallConfig, load_config
from .config.access import KINDS, Identity, identities
from .topics import REGISTRY, ROOT, Kind, TopicSpec

Grants = dict[str, str]  # identity kind -> scope

PUBLIC: Grants = {k: "all" for k in KINDS}
ENGINE: Grants = {"engine": "all"}
ADMINS: Grants = {"admin": "all", "monitor": "all"}
# the admin console runs in `onewindow web` (a terminal login): it shows these aggregates and alerts
CONSOLE: Grants = {**ADMINS, "terminal": "all"}
WATCHERS: Grants = {"engine": "all", "admin": "all", "monitor": "all"}
DEVICE_PUBLISHERS: Grants = {"bridge": "devices", "kiosk": "devices", "sender": "devices",
                             "casesys": "devices"}

# spec name -> (writers, readers), for everything that is not a request or reply
RULES: dict[str, tuple[Grants, Grants]] = {
    "engine.availability": (ENGINE, PUBLIC),
    "config.current": (ENGINE, PUBLIC),
    "config.audit": (ENGINE, ADMINS),  # who changed the config, and how
    "zone.board": (ENGINE, PUBLIC),
    "zone.waiting": (ENGINE, PUBLIC),  # counts only: what a wall screen shows
    "zone.called": (ENGINE, PUBLIC),
    "stats.summary": (ENGINE, PUBLIC),
    "stats.engine": (ENGINE, ADMINS),
    "stats.balance": (ENGINE, CONSOLE),
    "stats.windows": (ENGINE, CONSOLE),  # per-window figures of today: counts and minutes only
    # `onewindow metrics` keeps who is online since when; `onewindow status` (an admin) reads it
    "stats.availability": ({"monitor": "all"}, ADMINS),
    # the public progress board: cases with masked names, written by the engine's case desk
    "stats.progress": (ENGINE, PUBLIC),
    "stats.case_depts": (ENGINE, ADMINS),  # per-department case counts for the supervisors
    "alert.case": (ENGINE, CONSOLE),  # 电子监察: a case near or past its deadline (no personal data)
    "window.state": (ENGINE, {"bridge": "windows", "terminal": "windows", "display": "windows", "admin": "all"}),
    "window.evaluate": (ENGINE, {"bridge": "windows", "terminal": "windows"}),
    "window.settled": (ENGINE, {"terminal": "windows", "admin": "all", "monitor": "all"}),
    "alert.unattended": (ENGINE, CONSOLE),
    "alert.supervision": (ENGINE, CONSOLE),  # long waits and queues, paused or idle windows, 忙闲不均
    "alert.followup": (ENGINE, CONSOLE),
    "alert.staff": (ENGINE, ADMINS),  # a kiosk calling floor staff: the supervisors' console
    "stats.satisfaction.window": (ENGINE, CONSOLE),
    "stats.satisfaction.staff": (ENGINE, ADMINS),
    "stats.satisfaction.matter": (ENGINE, ADMINS),
    "stats.satisfaction.day": (ENGINE, CONSOLE),
    "kiosk.availability": ({"kiosk": "self"}, WATCHERS),
    "display.availability": ({"display": "self", "announcer": "self"}, WATCHERS),
    "device.availability": (DEVICE_PUBLISHERS, WATCHERS),
    "device.status": (DEVICE_PUBLISHERS, WATCHERS),
    # personal data: the full phone number goes to the sender alone
    "device.sms": (ENGINE, {"sender": "self"}),
    # an ID-card number read at a window: only the terminal of that window sees it
    "device.scan": ({"bridge": "scanners"}, {"terminal": "scanners"}),
}

# requests by the kind of topic they arrive on: who sends them, for which ids
REQUESTERS: dict[str, Grants] = {
    Kind.KIOSK: {"kiosk": "self"},
    Kind.WINDOW: {"bridge": "windows", "terminal": "windows"},
    Kind.CONFIG: {"admin": "self"},
    Kind.ALERT: {"admin": "self"},
    Kind.DEVICE: {"sender": "self"},
}


# ops whose requests and replies only some of the kind's requesters may use
OP_REQUESTERS: dict[str, Grants] = {
    # the reply carries the citizen's filled form: the window's terminal, not its keypad
    "window.visit": {"terminal": "windows"},
    "window.form": {"terminal": "windows"},
    # moving a case along its timeline is the clerk's terminal's, not a keypad's
    "window.case_step": {"terminal": "windows"},
    "window.case_extend": {"terminal": "windows"},
    "window.cases": {"terminal": "windows"},
    # an outside case system (审批系统) opens and moves cases under its own id; an SMS sender may not
    "device.case_open": {"casesys": "self"},
    "device.case_step": {"casesys": "self"},
    "device.case_extend": {"casesys": "self"},
}


class UncoveredTopic(ValueError):
    """A registry entry no ACL rule covers."""


def rule(spec: TopicSpec) -> tuple[Grants, Grants]:
    """(writers, readers) of one registry entry."""
    if spec.op is not None:
        requesters = OP_REQUESTERS.get(f"{spec.kind}.{spec.op}") or REQUESTERS.get(spec.kind)
        if requesters is None:
            raise UncoveredTopic(f"{spec.name}: no rule for requests on {spec.kind}/<id>/… in hall/acl.py")
        return (requesters, ENGINE) if spec.is_request else (ENGINE, requesters)
    if spec.name not in RULES:
        raise UncoveredTopic(f"{spec.name}: no ACL rule in hall/acl.py RULES")
    return RULES[spec.name]


def _ids(ident: Identity, scope: str) -> list[str]:
    if scope == "self":
        return [ident.id]
    if scope == "all":
        return ["+"]
    return sorted(getattr(ident, scope))


def grants(hall_id: str, ident: Identity) -> list[tuple[str, str]]:
    """(access, topic) lines of one identity, with a whole request/reply family
    of one id written as ``…/request/#`` when it holds every op of the kind."""
    acc: OrderedDict[str, set[str]] = OrderedDict()
    for spec in REGISTRY:
        writers, readers = rule(spec)
        for how, table in (("write", writers), ("read", readers)):
            scope = table.get(ident.kind)
            if scope is None:
                continue
            for i in _ids(ident, scope):
                acc.setdefault(spec.pattern(hall_id, i), set()).add(how)
    # fold request/<op> and response/<op> lines into request/# where complete
    by_kind = {k: {f"{ROOT}/{hall_id}/{k}/{{}}/{s.attr}" for s in REGISTRY if s.kind == k and s.op}
               for k in Kind}
    out: OrderedDict[str, set[str]] = OrderedDict()
    for topic, how in acc.items():
        parts = topic.split("/")
        if len(parts) == 6 and parts[4] in ("request", "response"):
            kind, ident_id, family = parts[2], parts[3], parts[4]
            family_topics = {t.format(ident_id) for t in by_kind[kind] if t.split("/")[4] == family}
            if all(acc.get(t) == how for t in family_topics):
                out[f"{ROOT}/{hall_id}/{kind}/{ident_id}/{family}/#"] = how
                continue
        out[topic] = how
    return [("readwrite" if len(h) == 2 else next(iter(h)), t) for t, h in out.items()]


def render_acl(config: HallConfig) -> str:
    """The whole ACL file of a hall."""
    hid = config.hall.id
    lines = [f"# mosquitto ACL of hall {hid}: generated by `onewindow acl` from the hall config.",
             "# Do not edit: change the config (access:, kiosks:, screens:, notify.sms) and regenerate.",
             "# A login not listed here may read and write nothing.", ""]
    for ident in identities(config):
        lines.append(f"# {ident.kind} {ident.id}")
        lines.append(f"user {ident.id}")
        lines += [f"topic {how} {topic}" for how, topic in grants(hid, ident)]
        lines.append("")
    return "\n".join(lines)


SECURITY_DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"
_DOC_START = "<!-- rights:start (generated by `python -m hall.acl`; do not edit by hand) -->"
_DOC_END = "<!-- rights:end -->"
_SCOPE_WORDS = {"self": "own id", "windows": "its windows", "devices": "its devices",
                "scanners": "its scanners", "all": "all"}


def _who(grants_: Grants) -> str:
    if grants_ == PUBLIC:
        return "everyone"
    return ", ".join(f"{k} ({_SCOPE_WORDS[v]})" for k, v in grants_.items())


def rights_table() -> str:
    """Who writes and who reads each registry topic (docs/security.md)."""
    rows = ["| topic | written by | read by |", "| --- | --- | --- |"]
    for spec in REGISTRY:
        writers, readers = rule(spec)
        rows.append(f"| `{spec.kind}/<id>/{spec.attr}` | {_who(writers)} | {_who(readers)} |")
    return "\n".join(rows) + "\n"


def doc_section(path: Path = SECURITY_DOC) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split(_DOC_START, 1)[1].split(_DOC_END, 1)[0].strip("\n") + "\n"


def update_doc(path: Path = SECURITY_DOC) -> bool:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(_DOC_START, 1)
    _, tail = rest.split(_DOC_END, 1)
    new = f"{head}{_DOC_START}\n{rights_table()}{_DOC_END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def start_acl_broker(config: HallConfig, users: dict[str, str], extra_acl: str = "", **broker_kw):
    """A local mosquitto with passwords, this hall's generated ACL and
    ``use_username_as_clientid`` as in production (for tests and trials).

    mosquitto drops root for the ``mosquitto`` user before it reads these files,
    so they go into a folder of their own that it can read (a pytest tmp_path is
    0700). ``write_passwords(broker.workdir / "passwd", …)`` and
    ``broker.restart()`` change the users later.
    """
    import os
    import tempfile

    from .broker import readable_by_broker, start_local_broker
    from .creds import write_passwords
    d = Path(tempfile.mkdtemp(prefix="onewindow-acl-", dir="/tmp"))
    os.chmod(d, 0o755)
    acl, pw = d / "acl", d / "passwd"
    acl.write_text(render_acl(config) + extra_acl)
    write_passwords(pw, users)
    os.chmod(acl, 0o644)
    readable_by_broker(pw)
    return start_local_broker(workdir=d, extra_conf=f"allow_anonymous false\npassword_file {pw}\n"
                                                    f"acl_file {acl}\nuse_username_as_clientid true\n",
                              **broker_kw)


@click.command(name="acl")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML: every identity in it gets its user block.")
@click.option("--out", type=click.Path(dir_okay=False), default="-", help="ACL file (default stdout).")
def cmd(config_path: str, out: str) -> None:
    """Print the mosquitto ACL of a hall, generated from its config (least privilege per login)."""
    try:
        text = render_acl(load_config(config_path))
    except (ConfigError, UncoveredTopic) as e:
        raise click.ClickException(str(e)) from None
    if out == "-":
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    print(f"{SECURITY_DOC}: {'updated' if update_doc() else 'unchanged'}")
