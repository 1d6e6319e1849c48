"""`onewindow web`: serve the web pages (`serve`), hash a PIN for the roster (`pin-hash`),
keep the console's accounts (`account-add`, `account-remove`, `account-list`)."""

from __future__ import annotations

import logging
import sys

import click

from hall.mqtt_options import MqttOptions, mqtt_options

log = logging.getLogger("web")


@click.group(name="web")
def cmd() -> None:
    """The window terminal (and later the admin console) in a browser."""


@cmd.command(name="serve")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True), help="Hall config YAML.")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to listen on (the hall LAN's address on the server; TLS in front of it).")
@click.option("--http-port", type=int, default=8080, show_default=True, help="HTTP port.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Serve HTTPS with this certificate (PEM); the key is --tls-key or the systemd "
                   "credential `web-tls-key`.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The certificate's private key (PEM).")
@click.option("--insecure-cookie", is_flag=True,
              help="Send the session cookie over plain HTTP too (only behind a TLS proxy on the same host).")
@click.option("--lockout-failures", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Wrong PINs in a row that lock a staff id.")
@click.option("--lockout-minutes", type=click.IntRange(1, 1440), default=15, show_default=True,
              help="How long a locked staff id stays locked.")
@click.option("--idle-minutes", type=click.IntRange(1, 600), default=30, show_default=True,
              help="A session unused this long ends (an open terminal page keeps it in use).")
@click.option("--accounts", "accounts_path", default="/etc/onewindow/web-accounts.json", show_default=True,
              help="The console's accounts (admin, supervisor, auditor): `onewindow web account-add` writes it.")
@click.option("--acks-db", default="/var/lib/onewindow/web/acks.sqlite", show_default=True,
              help="SQLite file of the console's alert acknowledgements (who, when).")
@click.option("--engine-db", default="/var/lib/onewindow/caller.sqlite", show_default=True,
              help="The engine's database, opened read-only for the console's reports (daily aggregates only).")
@click.option("--admin-id", default=None, envvar="ONEWINDOW_WEB_ADMIN_ID",
              help="An admin identity of the hall config (`access.admins`, e.g. `web-admin`) the console's config "
                   "operations speak as; without it they are off. Its own login: not the one `onewindow config` uses.")
@click.option("--admin-password-file", type=click.Path(dir_okay=False), default=None,
              envvar="ONEWINDOW_WEB_ADMIN_PASSWORD_FILE",
              help="That identity's broker password (default: the systemd credential `mqtt-admin-password`).")
@mqtt_options
def serve_cmd(config_path: str, bind: str, http_port: int, mqtt: MqttOptions, tls_cert: str | None,
              tls_key: str | None, insecure_cookie: bool, lockout_failures: int, lockout_minutes: int,
              idle_minutes: int, accounts_path: str, acks_db: str, admin_id: str | None,
              admin_password_file: str | None, engine_db: str) -> None:
    """Serve the clerks' window terminal and the admin console of one hall."""
    import os
    from dataclasses import replace

    import uvicorn

    from hall.config import ConfigError, load_config

    from .app import WebContext, create_app
    from .auth import Auth
    from .busclient import Hub
    from .console.accounts import AccountError, ConsoleAuth, load_accounts
    from .console.acks import AckStore
    try:
        cfg = load_config(config_path)
        accounts = load_accounts(accounts_path)
    except (ConfigError, AccountError) as e:
        raise click.ClickException(str(e)) from None
    if not cfg.staff:
        log.warning("the hall config has no `staff:` roster: nobody can log in")
    settings = mqtt.settings()
    hub = Hub(cfg.hall.id, settings, client_id=settings.username or None)
    auth = Auth(cfg.staff, max_failures=lockout_failures, lockout_s=lockout_minutes * 60,
                idle_s=idle_minutes * 60)
    console = ConsoleAuth(accounts, max_failures=lockout_failures, lockout_s=lockout_minutes * 60,
                          idle_s=idle_minutes * 60)
    admin_bus = None
    if admin_id:
        if admin_id not in cfg.access.admins:
            raise click.ClickException(f"--admin-id {admin_id!r} is not in the hall config's access.admins")
        pw_file = admin_password_file or os.path.join(os.environ.get("CREDENTIALS_DIRECTORY", ""),
                                                      "mqtt-admin-password")
        password = open(pw_file, encoding="utf-8").read().strip() if os.path.exists(pw_file) else None
        admin_bus = replace(settings, username=admin_id, password=password)
    app = create_app(WebContext(cfg=cfg, hub=hub, auth=auth, cookie_secure=not insecure_cookie,
                                accounts=console, acks=AckStore(acks_db), admin_id=admin_id,
                                admin_bus=admin_bus, history_db=engine_db))
    tls: dict = {}
    if tls_cert:
        key = tls_key or os.path.join(os.environ.get("CREDENTIALS_DIRECTORY", ""), "web-tls-key")
        if not os.path.exists(key):
            raise click.ClickException("--tls-cert needs --tls-key or the systemd credential web-tls-key")
        tls = {"ssl_certfile": tls_cert, "ssl_keyfile": key}
    elif bind not in ("127.0.0.1", "::1", "localhost") and not insecure_cookie:
        log.warning("serving plain HTTP on %s: browsers send the (Secure) session cookie over HTTPS "
                    "or to localhost only; give --tls-cert", bind)
    scheme = "https" if tls else "http"
    log.info("window terminal of hall %s on %s://%s:%d/terminal/", cfg.hall.id, scheme, bind, http_port)
    uvicorn.run(app, host=bind, port=http_port, log_level="info", access_log=False,
                proxy_headers=False, server_header=False, **tls)


@cmd.command(name="pin-hash")
def pin_hash_cmd() -> None:
    """Read a PIN on stdin (not an argument: it would be in the shell history) and print its hash."""
    from .auth import hash_pin
    pin = click.prompt("PIN", hide_input=True, confirmation_prompt=sys.stdin.isatty()) \
        if sys.stdin.isatty() else sys.stdin.readline().strip()
    try:
        click.echo(hash_pin(pin))
    except ValueError as e:
        raise click.ClickException(str(e)) from None


def _read_secret(prompt: str) -> str:
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True) \
        if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")


@cmd.command(name="account-add")
@click.argument("account_id")
@click.option("--role", type=click.Choice(["admin", "supervisor", "auditor"]), required=True,
              help="admin / supervisor: see and acknowledge; auditor: see only.")
@click.option("--name", required=True, help="The person's name, shown on the console.")
@click.option("--file", "path", default="/etc/onewindow/web-accounts.json", show_default=True,
              help="The accounts file of `onewindow web serve --accounts`.")
def account_add_cmd(account_id: str, role: str, name: str, path: str) -> None:
    """Add a console account or set its password and role; the password is read on stdin."""
    from hall.topics import ID_RE

    from .console.accounts import Account, AccountError, hash_password, load_accounts, save_accounts
    if not ID_RE.match(account_id):
        raise click.ClickException(f"account id {account_id!r}: letters, digits, . _ - only")
    try:
        pw_hash = hash_password(_read_secret("Password"))
        accounts = [a for a in load_accounts(path) if a.id != account_id]
    except (ValueError, AccountError) as e:
        raise click.ClickException(str(e)) from None
    save_accounts(path, accounts + [Account(account_id, name, role, pw_hash)])
    click.echo(f"{account_id} ({role}) saved in {path}; restart `onewindow web` to use it")


@cmd.command(name="account-remove")
@click.argument("account_id")
@click.option("--file", "path", default="/etc/onewindow/web-accounts.json", show_default=True)
def account_remove_cmd(account_id: str, path: str) -> None:
    """Remove a console account."""
    from .console.accounts import load_accounts, save_accounts
    accounts = load_accounts(path)
    if account_id not in {a.id for a in accounts}:
        raise click.ClickException(f"no account {account_id!r} in {path}")
    save_accounts(path, [a for a in accounts if a.id != account_id])
    click.echo(f"{account_id} removed")


@cmd.command(name="account-list")
@click.option("--file", "path", default="/etc/onewindow/web-accounts.json", show_default=True)
def account_list_cmd(path: str) -> None:
    """List the console accounts (ids, names, roles; never the hashes)."""
    from .console.accounts import load_accounts
    for a in load_accounts(path):
        click.echo(f"{a.id}\t{a.role}\t{a.name}")
