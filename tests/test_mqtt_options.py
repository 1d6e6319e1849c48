"""One set of MQTT/TLS options for every command; help without a broker or config."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hall.cli import main
from hall.mqtt_options import MqttOptions

SHARED = ["--mqtt-host", "--mqtt-port", "--mqtt-user", "--mqtt-password-file", "--mqtt-protocol",
          "--mqtt-tls", "--mqtt-cafile", "--mqtt-certfile", "--mqtt-keyfile"]


@pytest.mark.parametrize("command", [["caller"], ["bridge"], ["display"], ["announcer"], ["kiosk"], ["sms"],
                                     ["followup"], ["web", "serve"], ["metrics"], ["status"]])
def test_every_process_takes_the_same_mqtt_options(command):
    r = CliRunner().invoke(main, command + ["--help"])
    assert r.exit_code == 0, r.output
    for opt in SHARED:
        assert opt in r.output, (command, opt)


@pytest.mark.parametrize("sub", ["list", "close"])
def test_followup_help_needs_no_broker_and_no_config(sub, monkeypatch):
    monkeypatch.delenv("ONEWINDOW_MQTT_HOST", raising=False)
    r = CliRunner().invoke(main, ["followup", sub, "--help"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Usage: main followup {sub}")


def test_command_line_over_environment_over_defaults(tmp_path, monkeypatch):
    for k in ("ONEWINDOW_MQTT_HOST", "ONEWINDOW_MQTT_PORT", "ONEWINDOW_MQTT_USER", "ONEWINDOW_MQTT_TLS",
              "ONEWINDOW_MQTT_PASSWORD", "ONEWINDOW_MQTT_PASSWORD_FILE", "ONEWINDOW_MQTT_CAFILE",
              "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(k, raising=False)
    s = MqttOptions().settings(default_user="K01")
    assert (s.host, s.port, s.username, s.password, s.tls) == ("127.0.0.1", 1883, "K01", None, False)
    # TLS moves the default port to 8883; the password comes from the systemd credential
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret\n")
    (creds / "mqtt-ca").write_text("-")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.setenv("ONEWINDOW_MQTT_TLS", "1")
    monkeypatch.setenv("ONEWINDOW_MQTT_HOST", "hall-server")
    monkeypatch.setenv("ONEWINDOW_MQTT_USER", "D01")
    s = MqttOptions().settings(default_user="K01")
    assert (s.host, s.port, s.username, s.password, s.tls, s.cafile) == \
        ("hall-server", 8883, "D01", "s3cret", True, str(creds / "mqtt-ca"))
    assert "s3cret" not in repr(s)
    # the command line wins over both
    pw = tmp_path / "pw"
    pw.write_text("other")
    s = MqttOptions(host="10.0.0.2", port=9999, user="K02", password_file=str(pw), tls=False).settings()
    assert (s.host, s.port, s.username, s.password, s.tls) == ("10.0.0.2", 9999, "K02", "other", False)


def test_the_old_host_and_port_spellings_still_work(monkeypatch):
    """`--host/--port` of the units and scripts written before the options were shared."""
    seen = {}

    import click

    from hall.mqtt_options import mqtt_options

    @click.command()
    @mqtt_options
    def probe(mqtt):
        seen["opts"] = mqtt
    r = CliRunner().invoke(probe, ["--host", "h", "--port", "1", "--protocol", "3.1.1"])
    assert r.exit_code == 0, r.output
    assert (seen["opts"].host, seen["opts"].port, seen["opts"].protocol) == ("h", 1, "3.1.1")
    assert "--host" not in CliRunner().invoke(probe, ["--help"]).output
