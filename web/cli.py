"""`onewindow web`: serve the web pages (`serve`), or hash a PIN for the roster (`pin-hash`)."""

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
@mqtt_options
def serve_cmd(config_path: str, bind: str, http_port: int, mqtt: MqttOptions, tls_cert: str | None,
              tls_key: str | None, insecure_cookie: bool, lockout_failures: int, lockout_minutes: int,
              idle_minutes: int) -> None:
    """Serve the clerks' window terminal of one hall."""
    import os

    import uvicorn

    from hall.config import ConfigError, load_config

    from .app import WebContext, create_app
    from .auth import Auth
    from .busclient import Hub
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if not cfg.staff:
        log.warning("the hall config has no `staff:` roster: nobody can log in")
    settings = mqtt.settings()
    hub = Hub(cfg.hall.id, settings, client_id=settings.username or None)
    auth = Auth(cfg.staff, max_failures=lockout_failures, lockout_s=lockout_minutes * 60,
                idle_s=idle_minutes * 60)
    app = create_app(WebContext(cfg=cfg, hub=hub, auth=auth, cookie_secure=not insecure_cookie))
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
