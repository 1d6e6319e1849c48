"""`onewindow certs`: the hall's own certificate authority and its certificates.

The hall LAN has no internet and no public CA vouches for ``hall-server.local``,
so each hall makes its own CA once (``ca.crt``, ``ca.key``; the key stays on
the hall server, 0600) and signs with it:

* the broker's server certificate (``server.crt``), naming every host name and
  address devices use to reach it, so clients check the host name;
* one client certificate per device (``<id>.crt``/``<id>.key``, CN = the
  device's MQTT username), which the TLS listener requires
  (``require_certificate true`` in ``config/mosquitto/onewindow.conf``): a
  leaked password alone does not get on the bus without that device's key.

Keys are ECDSA P-256. Functions return the paths they wrote so the installer
(and the tests, with a CA made at test time) call them directly.
"""

from __future__ import annotations

import datetime as dt
import grp
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .topics import check_id

CA_DAYS = 3650
CERT_DAYS = 825  # the longest leaf lifetime common TLS clients accept


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, group: str | None = None) -> None:
    """0600, or 0640 with ``group`` (the broker's key: mosquitto drops root
    before it reads it)."""
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    if group and os.geteuid() == 0:
        try:
            os.chown(path, 0, grp.getgrnam(group).gr_gid)
            os.chmod(path, 0o640)
        except KeyError:
            pass  # no such group here (a build host): stays root-only


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o644)


def _name(cn: str, hall_id: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"onewindow hall {hall_id}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return builder.not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))


def make_ca(directory: str | Path, hall_id: str, days: int = CA_DAYS) -> CertFiles:
    """Create ``ca.crt`` and ``ca.key`` in ``directory`` (refuses to overwrite a CA)."""
    check_id(hall_id, "hall id")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    files = CertFiles(d / "ca.crt", d / "ca.key")
    if files.cert.exists() or files.key.exists():
        raise FileExistsError(f"a CA already exists in {d}; every certificate it signed would be orphaned")
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"onewindow hall {hall_id} CA", hall_id)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (_validity(x509.CertificateBuilder(), days)
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    _write_key(files.key, key)
    _write_cert(files.cert, cert)
    return files


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def make_cert(directory: str | Path, name: str, *, hosts: list[str] = (), server: bool = False,
              days: int = CERT_DAYS, out: str | Path | None = None) -> CertFiles:
    """Sign ``<name>.crt``/``<name>.key`` with the CA in ``directory``.

    ``server``: the broker's certificate, valid for ``hosts`` (names or IP
    addresses); otherwise a client certificate whose CN is the MQTT username.
    ``out``: where to write (default: ``directory``).
    """
    check_id(name, "certificate name")
    d = Path(directory)
    ca_cert, ca_key = _load_ca(d)
    o = Path(out) if out else d
    o.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    hall = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(hall)),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    b = (_validity(x509.CertificateBuilder(), days)
         .subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_agreement=True, key_cert_sign=False,
                                      crl_sign=False, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, encipher_only=False, decipher_only=False),
                        critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                               else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False))
    if server:
        alt: list[x509.GeneralName] = []
        for h in hosts or ["localhost", "127.0.0.1"]:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                alt.append(x509.DNSName(h))
        b = b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    files = CertFiles(o / f"{name}.crt", o / f"{name}.key")
    _write_key(files.key, key, "mosquitto" if server else None)
    _write_cert(files.cert, cert)
    return files


def default_server_hosts() -> list[str]:
    host = socket.gethostname()
    return [host, f"{host}.local", "localhost", "127.0.0.1"]


@click.group(name="certs")
def cmd() -> None:
    """The hall CA, the broker's certificate and one certificate per device (TLS on the hall LAN)."""


@cmd.command(name="ca")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="Where ca.crt and ca.key go (e.g. /etc/onewindow/tls).")
@click.option("--hall", "hall_id", required=True, help="Hall id (in the CA's name).")
def ca_cmd(directory: str, hall_id: str) -> None:
    """Make the hall's CA (once)."""
    try:
        files = make_ca(directory, hall_id)
    except FileExistsError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{files.cert}\n{files.key} (keep on the hall server; 0600)")


@cmd.command(name="server")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False), help="The CA's folder.")
@click.option("--host", "hosts", multiple=True,
              help="A name or address devices use for the broker (repeatable); default: this host's names.")
def server_cmd(directory: str, hosts: tuple[str, ...]) -> None:
    """Make the broker's certificate (server.crt, server.key) for its TLS listener."""
    files = make_cert(directory, "server", hosts=list(hosts) or default_server_hosts(), server=True)
    click.echo(f"{files.cert}\n{files.key}")


@cmd.command(name="device")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False), help="The CA's folder.")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Where to write (default --dir).")
@click.argument("ids", nargs=-1, required=True)
def device_cmd(directory: str, out: str | None, ids: tuple[str, ...]) -> None:
    """Make a client certificate for each device id (its MQTT username)."""
    for ident in ids:
        files = make_cert(directory, ident, out=out)
        click.echo(f"{files.cert}\n{files.key}")
