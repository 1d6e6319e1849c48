"""`onewindow install ROLE --root DIR`: the staging tree a real install would
leave — files, modes, owners as recorded, enabled units, the service user —
idempotent, and `--dry-run` shows every file without writing one."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from deploy import layout as L
from deploy.cli import install_cmd
from deploy.units import verify_root
from tests.needs import check, needs
from tests.release_kit import onewindow_wheel  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent
HALL = REPO / "config" / "hall.example.yaml"


def run_install(*args: str) -> str:
    r = CliRunner().invoke(install_cmd, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def manifest(root: Path) -> dict:
    return json.loads((root / L.MANIFEST.lstrip("/")).read_text())


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def device_bundle(tmp_path: Path, ident: str) -> Path:
    d = tmp_path / f"bundle-{ident}"
    d.mkdir()
    (d / f"{ident}-mqtt-password").write_text("s3cret-of-" + ident + "\n")
    for f in ("ca.crt", f"{ident}.crt", f"{ident}.key"):
        (d / f).write_text(f"-----PEM {f}-----\n")
    return d


def test_server_staging_tree(tmp_path):
    root = tmp_path / "root"
    out = run_install("server", "--config", str(HALL), "--root", str(root), "--no-release")
    m = manifest(root)
    # hall config: the engine may rewrite it (config push), nobody else reads it
    hall = root / "etc/onewindow/hall/hall.yaml"
    assert hall.read_bytes() == HALL.read_bytes() and mode(hall) == 0o640
    assert m["/etc/onewindow/hall/hall.yaml"] == {"kind": "file", "mode": "0640", "owner": "onewindow",
                                                  "group": "onewindow"}
    assert m["/etc/onewindow/hall"]["owner"] == "onewindow" and mode(hall.parent) == 0o750
    creds = root / "etc/onewindow/credentials"
    assert mode(creds) == 0o700
    for name in ("data-key", "sms-gateway", "sms-sim-pin"):
        assert mode(creds / name) == 0o600, name
        assert m[f"/etc/onewindow/credentials/{name}"]["owner"] == "root"
    assert len((creds / "data-key").read_bytes()) == 44  # a Fernet key
    assert (creds / "sms-gateway").read_bytes() == b""  # filled in by the admin for an http gateway
    # every unit of the role, verbatim from systemd/, and enabled the way systemctl enable does it
    for u in L.ROLES["server"].units:
        assert (root / "etc/systemd/system" / u).read_bytes() == (REPO / "systemd" / u).read_bytes()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    if shutil.which("systemctl"):
        assert sorted(p.name for p in wants.iterdir()) == [
            "onewindow-caller.service", "onewindow-metrics.service", "onewindow-sms.service",
            "onewindow-web.service"]
        assert (root / "etc/systemd/system/timers.target.wants/onewindow-backup.timer").is_symlink()
    # the broker: the repo's config, and the hall's ACL readable by mosquitto only
    conf = root / "etc/mosquitto/conf.d/onewindow.conf"
    assert conf.read_bytes() == (REPO / "config/mosquitto/onewindow.conf").read_bytes()
    acl = root / "etc/mosquitto/onewindow.acl"
    assert "onewindow/xihu/" in acl.read_text() and mode(acl) == 0o640
    assert m["/etc/mosquitto/onewindow.acl"]["group"] == "mosquitto"
    env = (root / "etc/onewindow/server.env").read_text()
    assert "BACKUP_KEEP=14" in env
    # each server process logs in as the hall config names it (the ACL is made from the same config)
    assert (root / "etc/onewindow/caller.env").read_text().endswith("\nONEWINDOW_MQTT_USER=onewindow-caller\n")
    assert (root / "etc/onewindow/sms.env").read_text().endswith("\nONEWINDOW_MQTT_USER=sms1\n")
    # the console's config operations: its admin identity, named to the web process
    assert (root / "etc/onewindow/web.env").read_text().endswith(
        "\nONEWINDOW_MQTT_USER=onewindow-web\nONEWINDOW_WEB_ADMIN_ID=web-admin\n")
    assert not (root / "etc/onewindow/web-admin.env").exists()
    assert "MaxRetentionSec=90day" in (root / "etc/systemd/journald.conf.d/onewindow.conf").read_text()
    if shutil.which("systemd-sysusers"):
        assert re.search(r"^onewindow:x:\d+:\d+:onewindow hall services:/var/lib/onewindow:/usr/sbin/nologin$",
                         (root / "etc/passwd").read_text(), flags=re.M)
    assert "step      enable units: done" in out or not shutil.which("systemctl")


def test_second_run_changes_nothing_and_keeps_secrets(tmp_path):
    root = tmp_path / "root"
    run_install("server", "--config", str(HALL), "--root", str(root), "--no-release")
    key = (root / "etc/onewindow/credentials/data-key").read_bytes()
    (root / "etc/onewindow/credentials/sms-gateway").write_text("token-the-admin-put-here\n")
    out = run_install("server", "--config", str(HALL), "--root", str(root), "--no-release")
    files = [ln for ln in out.splitlines() if not ln.startswith("step")]
    assert files and all(ln.split()[0] in ("unchanged", "kept") for ln in files), out
    assert (root / "etc/onewindow/credentials/data-key").read_bytes() == key
    assert (root / "etc/onewindow/credentials/sms-gateway").read_text() == "token-the-admin-put-here\n"


def test_dry_run_shows_every_file_and_writes_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    args = ["kiosk", "--config", str(HALL), "--id", "K01", "--root", str(root), "--rotation", "90",
            "--credentials", str(device_bundle(tmp_path, "K01")), "--printer-usb", "0416:5011"]
    out = run_install(*args, "--dry-run")
    assert list(root.iterdir()) == []
    shown = {ln.split()[1] for ln in out.splitlines() if re.match(r"^(file|dir|link) /", ln)}
    assert "ONEWINDOW_MQTT_USER=K01" in out and "s3cret-of-K01" not in out  # secrets are never printed
    assert "<secret, " in out
    run_install(*args, "--no-release")
    assert shown == set(manifest(root)) - {L.MANIFEST}


def test_kiosk_staging_tree(tmp_path):
    root = tmp_path / "root"
    run_install("kiosk", "--config", str(HALL), "--id", "K01", "--server", "hall.example.lan", "--root", str(root),
                "--no-release", "--credentials", str(device_bundle(tmp_path, "K01")), "--rotation", "90",
                "--printer-usb", "0416:5011")
    creds = root / "etc/onewindow/credentials"
    assert (creds / "mqtt-password").read_text() == "s3cret-of-K01\n" and mode(creds / "mqtt-password") == 0o600
    assert (creds / "mqtt-key").read_text() == "-----PEM K01.key-----\n" and mode(creds / "mqtt-key") == 0o600
    env = (root / "etc/onewindow/kiosk.env").read_text().splitlines()
    assert {"ONEWINDOW_MQTT_HOST=hall.example.lan", "ONEWINDOW_MQTT_PORT=8883", "ONEWINDOW_MQTT_TLS=1",
            "ONEWINDOW_MQTT_USER=K01", "KIOSK_ID=K01"} <= set(env)
    assert mode(root / "etc/onewindow/kiosk.env") == 0o640
    kivy = (root / "var/lib/onewindow/kivy/config.ini").read_text()
    assert "rotation = 90" in kivy and "show_cursor = 0" in kivy and "param=rotation=90" in kivy
    udev = (root / "etc/udev/rules.d/70-onewindow.rules").read_text()
    assert 'ATTRS{idVendor}=="0416", ATTRS{idProduct}=="5011", SYMLINK+="onewindow/printer", GROUP="lp"' in udev
    assert manifest(root)["/var/lib/onewindow/kivy/config.ini"]["owner"] == "onewindow"
    assert not (root / "etc/mosquitto").exists()  # no broker on a kiosk


def test_bridge_names_rs485_adapters_by_serial(tmp_path):
    root = tmp_path / "root"
    run_install("bridge", "--config", str(HALL), "--id", "bridge-1F", "--line", "L1", "--line", "L2",
                "--rs485", "L1=A10K5XYZ", "--rs485", "L2=A10K5ABC", "--root", str(root), "--no-release")
    udev = (root / "etc/udev/rules.d/70-onewindow.rules").read_text()
    assert 'SUBSYSTEM=="tty", ATTRS{serial}=="A10K5XYZ", SYMLINK+="onewindow/rs485-L1", GROUP="dialout"' in udev
    env = (root / "etc/onewindow/bridge.env").read_text()
    assert "BRIDGE_ARGS=--line L1 --line L2" in env and "BRIDGE_ID=bridge-1F" in env


def test_a_device_role_needs_its_id(tmp_path):
    r = CliRunner().invoke(install_cmd, ["display", "--config", str(HALL), "--root", str(tmp_path), "--no-release"])
    assert r.exit_code != 0 and "needs --id" in r.output
    r = CliRunner().invoke(install_cmd, ["kiosk", "--config", str(HALL), "--id", "K99", "--root", str(tmp_path),
                                         "--no-release"])
    assert r.exit_code == 1 and "--id K99: no kiosk of that id" in r.output
    assert list(tmp_path.iterdir()) == []


@needs("systemd-analyze")
@pytest.mark.parametrize("role,extra", [("server", []), ("kiosk", ["--id", "K01"]), ("display", ["--id", "D-Z1"]),
                                         ("announcer", ["--id", "announcer-1F"]), ("bridge", ["--id", "bridge-1F"])])
def test_staged_units_verify_with_a_real_release(role, extra, tmp_path, onewindow_wheel):
    """The whole command: a release built into the tree, then the units as installed,
    checked by `systemd-analyze verify` against that release."""
    from deploy.release import Releases
    root = tmp_path / "root"
    out = run_install(role, "--config", str(HALL), "--root", str(root), "--source", str(onewindow_wheel),
                      "--no-deps", *extra)
    rel = Releases(root).current
    assert rel is not None and f"release   current -> {rel.name}" in out
    # its interpreter named as on the machine (pip writes a /bin/sh trampoline for a long path)
    script = (rel / "bin" / "onewindow").read_text()
    assert f"/opt/onewindow/releases/{rel.name}/bin/python" in script.splitlines()[0] + script.splitlines()[1]
    assert str(tmp_path) not in script
    assert (rel / "docs" / "deploy.md").exists()  # the units' Documentation=
    verify_root(root, [], executables=False)
    units = [u for u in L.ROLES[role].units]
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", *units], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_server_broker_logins_and_tls(tmp_path):
    """With `onewindow creds` and `onewindow certs`: one login per server process
    in the password file, the hall CA and the broker certificate, made once."""
    creds = pytest.importorskip("hall.creds")
    pytest.importorskip("hall.certs")
    check(["mosquitto_passwd"])
    root = tmp_path / "root"
    run_install("server", "--config", str(HALL), "--root", str(root), "--no-release")
    passwd = (root / "etc/mosquitto/onewindow.passwd").read_text()
    from deploy.provision import server_logins
    from deploy.roles import InstallOptions
    logins = server_logins(InstallOptions(role="server", hall_yaml=HALL.read_bytes(), hall_id="xihu"))
    for proc, user in logins.items():
        assert re.search(rf"^{user}:\$7\$", passwd, flags=re.M), user
        cred = creds.credential_path(user, root)
        assert mode(cred) == 0o600 and len(cred.read_text().strip()) >= 32
        # the unit's fixed name reaches the login's own file
        assert (root / f"etc/onewindow/credentials/{proc}-mqtt-password").read_text() == cred.read_text()
    m = manifest(root)
    assert m["/etc/mosquitto/onewindow.passwd"] == {"kind": "file", "mode": "0640", "owner": "root",
                                                    "group": "mosquitto"}
    tls = root / "etc/onewindow/tls"
    assert (tls / "ca.crt").exists() and mode(tls / "ca.key") == 0o600 and mode(tls / "server.key") == 0o640
    assert m["/etc/onewindow/tls/server.key"]["group"] == "mosquitto"
    conf = (root / "etc/mosquitto/conf.d/onewindow.conf").read_text()
    assert "listener 1883 127.0.0.1" in conf and "listener 8883" in conf
    before = {p.name: p.read_bytes() for p in tls.iterdir()}
    pw_before = passwd
    run_install("server", "--config", str(HALL), "--root", str(root), "--no-release")
    assert {p.name: p.read_bytes() for p in tls.iterdir()} == before
    assert (root / "etc/mosquitto/onewindow.passwd").read_text() == pw_before


def test_a_failing_step_is_one_clear_error(tmp_path):
    """A step that fails (here every command) stops the install with the command's own message."""
    from deploy.install import install
    from deploy.roles import InstallOptions

    def refuse(cmd):
        raise subprocess.CalledProcessError(1, cmd, stderr="Failed to enable unit: Unit file is masked.\n")

    o = InstallOptions(role="display", hall_yaml=HALL.read_bytes(), hall_id="xihu", device_id="D-Z1")
    if shutil.which("systemctl") is None or shutil.which("systemd-sysusers") is None:
        pytest.skip("systemctl / systemd-sysusers not installed")
    with pytest.raises(ValueError, match=r"^service user failed: systemd-sysusers .*Unit file is masked\.$"):
        install(o, tmp_path / "root", run=refuse)


def test_a_hall_without_a_console_admin_still_starts_the_web_unit(tmp_path):
    """onewindow-web loads the console admin's password; a hall whose access.admins
    has no web-admin gets an empty one (the unit starts, config operations are off)."""
    raw = yaml.safe_load(HALL.read_text(encoding="utf-8"))
    raw["access"]["admins"] = ["admin", "supervisor"]
    hall = tmp_path / "hall.yaml"
    hall.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    root = tmp_path / "root"
    run_install("server", "--config", str(hall), "--root", str(root), "--no-release")
    cred = root / "etc/onewindow/credentials/web-admin-mqtt-password"
    assert cred.read_bytes() == b"" and mode(cred) == 0o600
    assert "ONEWINDOW_WEB_ADMIN_ID" not in (root / "etc/onewindow/web.env").read_text()
    unit = (root / "etc/systemd/system/onewindow-web.service").read_text()
    assert "LoadCredential=mqtt-admin-password:/etc/onewindow/credentials/web-admin-mqtt-password" in unit


def hall_with_systems(tmp_path: Path, *systems: dict) -> Path:
    raw = yaml.safe_load(HALL.read_text(encoding="utf-8"))
    raw.setdefault("cases", {})["systems"] = list(systems)
    hall = tmp_path / "hall.yaml"
    hall.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return hall


def test_a_hall_with_a_csv_case_system_gets_its_adapter_unit_and_login(tmp_path):
    """cases.systems with a CSV drop folder: the adapter's unit is written and enabled,
    case-adapter.env names the system (its --id and its broker login), and the unit's
    credential reaches that login's password like every server process's."""
    hall = hall_with_systems(tmp_path, {"id": "approval", "name": "审批系统"},
                             {"id": "budong", "name": "不动产登记系统", "adapter": "none"})
    root = tmp_path / "root"
    run_install("server", "--config", str(hall), "--root", str(root), "--no-release")
    unit = root / "etc/systemd/system/onewindow-case-adapter.service"
    assert unit.read_bytes() == (REPO / "systemd/onewindow-case-adapter.service").read_bytes()
    assert "LoadCredential=mqtt-password:/etc/onewindow/credentials/case-adapter-mqtt-password" in unit.read_text()
    env = root / "etc/onewindow/case-adapter.env"
    assert env.read_text() == ("# onewindow-case-adapter's broker login (the hall config's id)\n"
                               "ONEWINDOW_MQTT_USER=approval\nCASE_SYSTEM_ID=approval\n")
    assert mode(env) == 0o640 and manifest(root)["/etc/onewindow/case-adapter.env"]["group"] == "onewindow"
    if shutil.which("systemctl"):
        wants = root / "etc/systemd/system/multi-user.target.wants"
        assert "onewindow-case-adapter.service" in {p.name for p in wants.iterdir()}
    try:
        from hall import creds
    except ImportError:
        return
    if shutil.which("mosquitto_passwd"):
        link = root / "etc/onewindow/credentials/case-adapter-mqtt-password"
        assert link.is_symlink() and link.read_text() == creds.credential_path("approval", root).read_text()
        assert re.search(r"^approval:\$7\$", (root / "etc/mosquitto/onewindow.passwd").read_text(), flags=re.M)
        assert not creds.credential_path("budong", root).exists()  # it speaks MQTT itself: its own login, by hand


def test_no_csv_case_system_no_adapter_unit_and_two_are_refused(tmp_path):
    root = tmp_path / "root"
    run_install("server", "--config", str(hall_with_systems(tmp_path, {"id": "budong", "adapter": "none"})),
                "--root", str(root), "--no-release")
    assert not (root / "etc/systemd/system/onewindow-case-adapter.service").exists()
    assert not (root / "etc/onewindow/case-adapter.env").exists()
    two = hall_with_systems(tmp_path, {"id": "approval"}, {"id": "budong"})
    r = CliRunner().invoke(install_cmd, ["server", "--config", str(two), "--root", str(tmp_path / "r2"),
                                         "--no-release"])
    assert r.exit_code != 0
    assert "cases.systems: approval, budong all use the CSV drop folder" in r.output + str(r.exception)
