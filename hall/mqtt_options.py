"""The MQTT/TLS command-line options every `onewindow` process shares.

One decorator, :func:`mqtt_options`, adds ``--mqtt-host``, ``--mqtt-port``,
``--mqtt-user``, ``--mqtt-password-file``, ``--mqtt-protocol``,
``--mqtt-tls/--mqtt-plain``, ``--mqtt-cafile``, ``--mqtt-certfile`` and
``--mqtt-keyfile`` to a click command and hands the command one
:class:`MqttOptions` as ``mqtt``. Nothing is read (no password file, no
environment) until :meth:`MqttOptions.settings` is called, so ``--help`` of
any command works without a broker, a config or a credential.

Each option falls back to its environment variable (``ONEWINDOW_MQTT_HOST`` …,
see :meth:`hall.bus.BusSettings.from_env`), then to the systemd credentials.
The older ``--host``/``--port``/``--protocol`` spellings are kept as hidden
aliases so existing unit files and scripts keep working.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import click

from .bus import BusSettings


@dataclass(frozen=True)
class MqttOptions:
    """What was given on the command line (None = not given)."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password_file: str | None = None
    protocol: str | None = None
    tls: bool | None = None
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def settings(self, default_user: str | None = None) -> BusSettings:
        """The command line over the environment over the defaults.

        ``default_user`` is the username when neither ``--mqtt-user`` nor
        ``$ONEWINDOW_MQTT_USER`` names one (a kiosk logs in as its own id).
        """
        s = BusSettings.from_env(host=self.host, port=self.port, username=self.user,
                                 password_file=self.password_file, protocol=self.protocol,
                                 tls=self.tls, cafile=self.cafile, certfile=self.certfile,
                                 keyfile=self.keyfile)
        if s.username is None and default_user:
            from dataclasses import replace
            s = replace(s, username=default_user)
        return s


_OPTIONS = [
    click.option("--mqtt-host", default=None, metavar="HOST",
                 help="Broker host [env ONEWINDOW_MQTT_HOST; 127.0.0.1]."),
    click.option("--mqtt-port", type=int, default=None, metavar="PORT",
                 help="Broker port [env ONEWINDOW_MQTT_PORT; 8883 with TLS, else 1883]."),
    click.option("--mqtt-user", default=None, metavar="NAME",
                 help="Broker username, this client's identity [env ONEWINDOW_MQTT_USER]."),
    click.option("--mqtt-password-file", type=click.Path(dir_okay=False), default=None,
                 help="File holding the broker password [env ONEWINDOW_MQTT_PASSWORD_FILE; "
                      "the systemd credential mqtt-password]. Never given on the command line."),
    click.option("--mqtt-protocol", type=click.Choice(["5", "3.1.1"]), default=None,
                 help="MQTT protocol version [env ONEWINDOW_MQTT_PROTOCOL; 5]."),
    click.option("--mqtt-tls/--mqtt-plain", "mqtt_tls", default=None,
                 help="TLS to the broker (hall LAN) or plaintext (loopback only) "
                      "[env ONEWINDOW_MQTT_TLS=1; plaintext]."),
    click.option("--mqtt-cafile", type=click.Path(dir_okay=False), default=None,
                 help="The hall CA certificate the broker's certificate is checked against "
                      "[env ONEWINDOW_MQTT_CAFILE; systemd credential mqtt-ca]."),
    click.option("--mqtt-certfile", type=click.Path(dir_okay=False), default=None,
                 help="This device's certificate [env ONEWINDOW_MQTT_CERTFILE; credential mqtt-cert]."),
    click.option("--mqtt-keyfile", type=click.Path(dir_okay=False), default=None,
                 help="This device's private key [env ONEWINDOW_MQTT_KEYFILE; credential mqtt-key]."),
    # the spellings used before the options were shared
    click.option("--host", "old_host", default=None, hidden=True),
    click.option("--port", "old_port", type=int, default=None, hidden=True),
    click.option("--protocol", "old_protocol", type=click.Choice(["5", "3.1.1"]), default=None, hidden=True),
]


def mqtt_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared MQTT/TLS options; the command receives ``mqtt: MqttOptions``."""

    @functools.wraps(func)
    def wrapper(*args: Any, mqtt_host, mqtt_port, mqtt_user, mqtt_password_file, mqtt_protocol,
                mqtt_tls, mqtt_cafile, mqtt_certfile, mqtt_keyfile, old_host, old_port, old_protocol,
                **kwargs: Any) -> Any:
        opts = MqttOptions(host=mqtt_host or old_host, port=mqtt_port or old_port, user=mqtt_user,
                           password_file=mqtt_password_file, protocol=mqtt_protocol or old_protocol,
                           tls=mqtt_tls, cafile=mqtt_cafile, certfile=mqtt_certfile, keyfile=mqtt_keyfile)
        return func(*args, mqtt=opts, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
