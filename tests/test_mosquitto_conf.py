"""The shipped config/mosquitto/onewindow.conf, with only its paths and ports
moved into a test folder: the engine on the loopback listener and a kiosk on
the TLS listener (certificate + password) take a number together, with the
ACL and passwords made by `onewindow acl` and `onewindow creds`."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from hall.acl import render_acl
from hall.broker import find_mosquitto, free_port, readable_by_broker
from hall.bus import Bus, BusSettings, Requester
from hall.certs import make_ca, make_cert
from hall.config.access import identities
from hall.creds import write_passwords

from tests.needs import needs

from .test_broker_acl import acl_hall

pytestmark = [pytest.mark.broker, needs("mosquitto")]

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "mosquitto" / "onewindow.conf"


def test_the_shipped_broker_config_serves_loopback_plaintext_and_lan_tls(tmp_path):
    cfg = acl_hall()
    d = Path(tempfile.mkdtemp(prefix="onewindow-conf-", dir="/tmp"))
    os.chmod(d, 0o755)
    ca = make_ca(d, cfg.hall.id)
    server = make_cert(d, "server", hosts=["localhost"], server=True)
    kiosk = make_cert(d, "K1")
    users = {i.id: f"pw-{i.id}" for i in identities(cfg)}
    (d / "acl").write_text(render_acl(cfg))
    write_passwords(d / "passwd", users)
    (d / "data").mkdir()
    readable_by_broker(server.key, d / "passwd", d / "data")
    plain, tls = free_port(), free_port()
    text = SHIPPED.read_text()
    for old, new in (("/etc/onewindow/tls", str(d)), ("/etc/mosquitto/onewindow.passwd", str(d / "passwd")),
                     ("/etc/mosquitto/onewindow.acl", str(d / "acl")), ("/var/lib/mosquitto/", f"{d}/data/")):
        assert old in text
        text = text.replace(old, new)
    text, n_plain = re.subn(r"^listener 1883 127\.0\.0\.1$", f"listener {plain} 127.0.0.1", text, flags=re.M)
    text, n_tls = re.subn(r"^listener 8883$", f"listener {tls} 127.0.0.1", text, flags=re.M)
    assert (n_plain, n_tls) == (1, 1), "the shipped listeners changed: update this test"
    conf = d / "mosquitto.conf"
    conf.write_text(text + "log_dest stderr\n")
    log = open(tmp_path / "mosquitto.log", "wb")
    proc = subprocess.Popen([find_mosquitto(), "-c", str(conf)], stdout=log, stderr=log, start_new_session=True)
    from caller.service import CallerService
    eng = CallerService(cfg, tmp_path / "e.sqlite", BusSettings(port=plain, username="engine",
                                                              password=users["engine"]))
    k = Bus(cfg.hall.id, "K1", BusSettings(host="localhost", port=tls, username="K1", password=users["K1"],
                                           tls=True, cafile=str(ca.cert), certfile=str(kiosk.cert),
                                           keyfile=str(kiosk.key)))
    try:
        from hall.broker import _wait_port
        assert _wait_port(tls, 10), (tmp_path / "mosquitto.log").read_text()
        eng.start()
        k.start()
        assert Requester(k, "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
    finally:
        k.stop()
        eng.stop()
        proc.terminate()
        proc.wait(5)
