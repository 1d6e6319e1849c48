"""Two halls bridged into one central broker: the city sees both halls' stats (全域一张网).

Each hall broker runs the shipped ``config/mosquitto/bridge-central.conf``; the
test only fills in what a hall fills in (the hall id, the centre's address,
the hall's password and the CA that signed the centre's certificate), so a
broken line in the shipped file breaks this test.  The centre listens with TLS
and passwords, with a CA made at test time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import queue
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from hall.broker import free_port, start_local_broker
from hall.bus import Bus, BusSettings, Requester
from hall.creds import write_passwords
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id
from tests.needs import needs

pytestmark = [pytest.mark.broker,
              needs("mosquitto")]

SHIPPED = Path(__file__).parent.parent / "config" / "mosquitto" / "bridge-central.conf"


def make_tls(d: Path) -> tuple[Path, Path, Path]:
    """A CA and the centre's certificate for 127.0.0.1 (cryptography, no openssl CLI)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test city CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = d / "ca.crt", d / "server.crt", d / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    for p in paths:
        p.chmod(0o644)  # mosquitto reads them after dropping root
    return paths


def hall_bridge_conf(hall_id: str, tls_port: int, password: str, cafile: Path) -> str:
    """The shipped file with a hall's own values put in, nothing else changed."""
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in [("central.example.gov.cn:8883", f"127.0.0.1:{tls_port}"),
                     ("remote_password CHANGE-ME", f"remote_password {password}"),
                     ("bridge_cafile /etc/ssl/certs/ca-certificates.crt", f"bridge_cafile {cafile}")]:
        assert old in text, f"{SHIPPED.name} no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    return text.replace("HALL", hall_id)


def test_central_broker_sees_every_hall(tmp_path_factory):
    from caller.service import CallerService
    from hall.config import parse_config
    d = Path(tempfile.mkdtemp(prefix="onewindow-central-", dir="/tmp"))  # readable by mosquitto
    os.chmod(d, 0o755)
    ids = [unique_hall_id(), unique_hall_id()]
    users = {f"onewindow-{h}": f"pw-{h}" for h in ids} | {"city": "pw-city"}
    write_passwords(d / "passwd", users)
    ca, cert, key = make_tls(d)
    tls_port = free_port()
    central = start_local_broker(workdir=tmp_path_factory.mktemp("central"), extra_conf=(
        f"allow_anonymous false\npassword_file {d / 'passwd'}\n"
        f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"))
    halls, engines = [], []
    try:
        seen: queue.Queue = queue.Queue()
        city = Bus("city", "city-view", BusSettings(host="127.0.0.1", port=central.port, username="city",
                                                    password="pw-city"))
        # the command centre reads every hall with `+` in the hall level
        city.subscribe(REGISTRY["stats.summary"], lambda p, d: seen.put((p.hall_id, json.loads(d))),
                       hall_id="+", ident="hall")
        counts: queue.Queue = queue.Queue()  # and each zone's waiting counts
        city.subscribe(REGISTRY["zone.waiting"], lambda p, d: counts.put((p.hall_id, p.ident, json.loads(d))),
                       hall_id="+")
        city.start()
        for n, hid in enumerate(ids):
            raw = small_raw()
            raw["hall"]["id"] = hid
            b = start_local_broker(workdir=tmp_path_factory.mktemp(f"hall{n}"),
                                   extra_conf=hall_bridge_conf(hid, tls_port, users[f"onewindow-{hid}"], ca))
            halls.append(b)
            eng = CallerService(parse_config(raw), tmp_path_factory.mktemp(f"db{n}") / "e.sqlite", b.settings)
            eng.start()
            engines.append(eng)
            bus = Bus(hid, f"k-{hid}", b.settings)
            bus.start()
            for _ in range(n + 1):
                Requester(bus, "kiosk", "K1").call("issue", {"matter": "M4"})
            bus.stop()
        issued: dict[str, int] = {}
        end = time.monotonic() + 15
        while time.monotonic() < end and any(issued.get(h) != i + 1 for i, h in enumerate(ids)):
            try:
                hid, s = seen.get(timeout=0.5)
            except queue.Empty:
                continue
            issued[hid] = s["issued"]
        assert issued == {ids[0]: 1, ids[1]: 2}
        waiting: dict[str, int] = {}
        end = time.monotonic() + 15
        while time.monotonic() < end and any(waiting.get(h) != i + 1 for i, h in enumerate(ids)):
            try:
                hid, zone, c = counts.get(timeout=0.5)
            except queue.Empty:
                continue
            if zone == "Z2":
                waiting[hid] = c["groups"].get("G", 0)
        assert waiting == {ids[0]: 1, ids[1]: 2}
        city.stop()
    finally:
        for e in engines:
            e.stop()
        for b in halls:
            b.stop()
        central.stop()
        shutil.rmtree(d, ignore_errors=True)
