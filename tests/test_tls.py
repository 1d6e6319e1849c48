"""TLS on the hall LAN: a kiosk takes a number from the engine over mosquitto's
TLS listener, with a hall CA and certificates made by `onewindow certs` at test
time; the listener refuses a client without a device certificate, and a client
refuses a broker its hall CA did not sign."""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hall.broker import TlsListener, readable_by_broker, start_local_broker
from hall.certs import make_ca, make_cert
from hall.cli import main
from hall.config import parse_config

from tests.needs import needs

from .conftest import unique_hall_id
from .test_kiosk_acl import take_a_number
from .test_kiosk_flow import kiosk_config

pytestmark = [pytest.mark.broker, needs("mosquitto")]


@pytest.fixture(scope="module")
def pki():
    """A hall CA, the broker's certificate for localhost and a kiosk certificate,
    in a folder the broker (run as the `mosquitto` user) can read."""
    d = Path(tempfile.mkdtemp(prefix="onewindow-tls-", dir="/tmp"))
    os.chmod(d, 0o755)
    ca = make_ca(d, "testhall")
    server = make_cert(d, "server", hosts=["localhost", "127.0.0.1"], server=True)
    readable_by_broker(server.key)
    kiosk = make_cert(d, "K1")
    return d, ca, server, kiosk


@pytest.fixture(scope="module")
def tls_broker(pki):
    d, ca, server, _ = pki
    b = start_local_broker(workdir=d / "broker", tls=TlsListener(str(ca.cert), str(server.cert), str(server.key)))
    yield b
    b.stop()


def test_kiosk_takes_a_number_from_the_engine_over_tls(tls_broker, pki, tmp_path):
    from caller.service import CallerService
    from kiosk.service import KioskService
    raw = kiosk_config().model_dump(mode="json")
    raw["hall"]["id"] = unique_hall_id()
    cfg = parse_config(raw)
    _, _, _, kiosk_cert = pki
    # the engine on the hall server: plaintext on loopback; the kiosk: TLS with its certificate
    eng = CallerService(cfg, tmp_path / "e.sqlite", tls_broker.settings, client_id="tls-engine")
    tls = tls_broker.tls_settings(kiosk_cert.cert, kiosk_cert.key)
    assert tls.tls and tls.port != tls_broker.port
    svc = KioskService(cfg, "K1", tls)
    try:
        eng.start()
        svc.start(connect_timeout=5)
        assert svc.bus.connected
        assert take_a_number(svc)["number"] == "G001"
    finally:
        svc.stop()
        eng.stop()


CONNECT = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 1]) + b"x"  # MQTT 3.1.1, client id "x"


def _connack(port: int, ctx: ssl.SSLContext) -> bytes:
    """Open TLS to the broker, send a CONNECT, return its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(CONNECT)
            return s.recv(4)


def test_the_tls_listener_requires_a_device_certificate(tls_broker, pki):
    _, ca, _, kiosk = pki
    with_cert = tls_broker.tls_settings(kiosk.cert, kiosk.key).tls_context()
    assert _connack(tls_broker.tls_port, with_cert) == bytes([0x20, 2, 0, 0])  # accepted
    without = tls_broker.tls_settings().tls_context()
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        _connack(tls_broker.tls_port, without)


def test_a_device_refuses_a_broker_its_hall_ca_did_not_sign(tls_broker, pki, tmp_path):
    other = make_ca(tmp_path / "other", "otherhall")
    ctx = ssl.create_default_context(cafile=str(other.cert))
    with pytest.raises(ssl.SSLCertVerificationError):
        _connack(tls_broker.tls_port, ctx)


def test_certs_cli_makes_a_ca_a_server_and_device_certificates(tmp_path):
    d = tmp_path / "tls"
    r = CliRunner().invoke(main, ["certs", "ca", "--dir", str(d), "--hall", "testhall"])
    assert r.exit_code == 0, r.output
    assert (d / "ca.key").stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(main, ["certs", "ca", "--dir", str(d), "--hall", "testhall"])
    assert again.exit_code != 0 and "already exists" in again.output
    r = CliRunner().invoke(main, ["certs", "server", "--dir", str(d), "--host", "hall-server", "--host", "10.0.0.2"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["certs", "device", "--dir", str(d), "K01", "D01"])
    assert r.exit_code == 0, r.output
    from cryptography import x509
    server = x509.load_pem_x509_certificate((d / "server.crt").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hall-server"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.2"]
    k01 = x509.load_pem_x509_certificate((d / "K01.crt").read_bytes())
    assert k01.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == "K01"
    assert (d / "K01.key").stat().st_mode & 0o777 == 0o600
    # each is signed by the hall CA
    ca = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
    k01.verify_directly_issued_by(ca)
    server.verify_directly_issued_by(ca)
