"""systemd/install.sh: what it puts where, with which modes, and that running it again is safe.

The real thing needs root and a Debian box with systemd as PID 1, so the script is run here in
its two side-effect-free forms: `--destdir DIR` (files only, under DIR) and `--dry-run` (prints
each command it would run, changes nothing).
"""
from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "systemd" / "install.sh"
UNITS = ["cx-vision@.service", "cx-kiosk.service", "cx-sync.service", "cx-watch.service",
         "cx-hq.service", "cx-hq-web.service", "cx-hq-prune.service", "cx-hq-prune.timer",
         "cx-prune.service", "cx-prune.timer", "cx-station.target"]
# --with-hq enables these (the prune services run from their timers; the dashboard only once
# hq.toml has [[web.users]], which the example has not)
# (one cx-vision@ per camera: the example config has the single camera "main")
ENABLED = ["cx-vision@main.service", "cx-kiosk.service", "cx-sync.service", "cx-watch.service",
           "cx-prune.timer", "cx-hq.service", "cx-hq-prune.timer", "cx-station.target"]


def install(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=120, cwd="/")
    if check:
        assert result.returncode == 0, result.stderr
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def commands(stdout: str) -> list[list[str]]:
    """The commands a --dry-run printed, one `+ cmd args` line each."""
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def installs_to(cmds: list[list[str]], target: str) -> list[str]:
    found = [c for c in cmds if c[0] == "install" and c[-1] == target]
    assert len(found) == 1, f"expected one install to {target}, got {found}"
    return found[0]


@pytest.fixture
def destdir(tmp_path) -> Path:
    root = tmp_path / "root"
    install("--destdir", str(root), "--no-venv", "--no-models")
    return root


def test_destdir_install_places_units_config_and_credentials_with_their_modes(destdir):
    for unit in UNITS:
        placed = destdir / "etc/systemd/system" / unit
        assert placed.read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert mode(placed) == 0o644
    assert mode(destdir / "etc/cx-station") == 0o750
    assert mode(destdir / "var/lib/cx-station") == 0o750
    # setgid: models fetched by root come out in group cx-station, readable by the services.
    assert mode(destdir / "var/lib/cx-station/models") == 0o2750

    config = destdir / "etc/cx-station/station.toml"
    assert config.read_bytes() == (REPO / "config/station.example.toml").read_bytes()
    assert mode(config) == 0o640
    assert not (destdir / "etc/cx-station/hq.toml").exists()     # only with --with-hq

    credentials = destdir / "etc/cx-station/mqtt.credentials"
    assert mode(credentials) == 0o600
    assert tomllib.loads(credentials.read_text()) == {"username": "", "password": ""}

    guide = destdir / "opt/cx-station/share/systemd/README.md"
    assert guide.read_bytes() == (REPO / "systemd/README.md").read_bytes()


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl is not installed")
def test_destdir_install_enables_the_station_so_the_tree_boots_into_it(destdir):
    wants = destdir / "etc/systemd/system/cx-station.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == [
        "cx-kiosk.service", "cx-prune.timer", "cx-sync.service", "cx-vision@main.service",
        "cx-watch.service"]                                              # no cx-hq by default
    boot = destdir / "etc/systemd/system/multi-user.target.wants/cx-station.target"
    assert os.readlink(boot) == "/etc/systemd/system/cx-station.target"


def test_example_config_points_at_the_credentials_the_script_creates():
    example = tomllib.loads((REPO / "config/station.example.toml").read_text())
    assert example["sync"]["credentials_file"] == "/etc/cx-station/mqtt.credentials"
    assert example["database"]["path"].startswith("/var/lib/cx-station/")


def test_running_again_keeps_the_edited_config_and_tightens_the_credentials(destdir):
    config = destdir / "etc/cx-station/station.toml"
    credentials = destdir / "etc/cx-station/mqtt.credentials"
    config.write_text("# edited by the store's technician\n")
    credentials.write_text('username = "kiosk-1"\npassword = "s3cret"\n')
    credentials.chmod(0o644)           # e.g. copied in with a careless umask
    (destdir / "etc/systemd/system/cx-sync.service").write_text("stale\n")

    result = install("--destdir", str(destdir), "--no-venv", "--no-models")

    assert "keeping existing /etc/cx-station/station.toml" in result.stdout
    assert config.read_text() == "# edited by the store's technician\n"
    assert 's3cret' in credentials.read_text()
    assert mode(credentials) == 0o600
    assert (destdir / "etc/systemd/system/cx-sync.service").read_bytes() == \
        (REPO / "systemd/cx-sync.service").read_bytes()


def test_dry_run_changes_nothing(tmp_path):
    root = tmp_path / "root"
    result = install("--dry-run", "--destdir", str(root), "--python", sys.executable)
    assert not root.exists()
    cmds = commands(result.stdout)
    assert installs_to(cmds, f"{root}/etc/cx-station/mqtt.credentials")[1:3] == ["-m", "0600"]
    assert installs_to(cmds, f"{root}/etc/cx-station/station.toml")[1:3] == ["-m", "0640"]
    assert [sys.executable, "-m", "venv", f"{root}/opt/cx-station/venv"] in cmds
    assert ["env", "-u", "PYTHONPATH", f"{root}/opt/cx-station/venv/bin/python", "-m",
            "station.cli", "models", "fetch", "--models-dir",
            f"{root}/var/lib/cx-station/models"] in cmds


@pytest.mark.skipif(Path("/etc/cx-station").exists(),
                    reason="this machine already has /etc/cx-station; the plan would differ")
def test_dry_run_on_the_real_system_plans_user_owners_modes_and_systemctl():
    result = install("--dry-run", "--with-hq", "--python", sys.executable)
    cmds = commands(result.stdout)

    if subprocess.run(["getent", "passwd", "cx-station"], capture_output=True).returncode != 0:
        useradd = next(c for c in cmds if c[0] == "useradd")
        assert "--system" in useradd and useradd[-1] == "cx-station"
        assert useradd[useradd.index("--shell") + 1] == "/usr/sbin/nologin"

    def owner_mode(target):
        cmd = installs_to(cmds, target)
        return (cmd[cmd.index("-o") + 1], cmd[cmd.index("-g") + 1], cmd[cmd.index("-m") + 1])

    assert owner_mode("/etc/cx-station") == ("root", "cx-station", "0750")
    assert owner_mode("/var/lib/cx-station") == ("cx-station", "cx-station", "0750")
    assert owner_mode("/etc/cx-station/station.toml") == ("root", "cx-station", "0640")
    assert owner_mode("/etc/cx-station/hq.toml") == ("root", "cx-station", "0640")   # --with-hq
    assert owner_mode("/etc/cx-station/mqtt.credentials") == ("cx-station", "cx-station", "0600")
    for unit in UNITS:
        assert owner_mode(f"/etc/systemd/system/{unit}") == ("root", "root", "0644")
    assert [c for c in cmds if c[:2] == ["chmod", "0600"]] == \
        [["chmod", "0600", "/etc/cx-station/mqtt.credentials"]]

    if shutil.which("systemctl") is None:
        assert "systemctl not found" in result.stdout
    elif Path("/run/systemd/system").is_dir():
        assert ["systemctl", "daemon-reload"] in cmds
        assert ["systemctl", "enable", *ENABLED] in cmds
    else:
        # Not booted with systemd (CI container, image chroot): symlinks only, no reload.
        assert "systemd is not running as PID 1" in result.stdout
        assert [c for c in cmds if c[0] == "systemctl"] == [
            ["systemctl", "--root=/", "enable", *ENABLED]]


def test_unknown_option_is_refused_with_the_usage():
    result = install("--destdir", "/nonexistent", "--force", check=False)
    assert result.returncode != 0
    assert "unknown option: --force" in result.stderr
    assert "usage:" in result.stderr


def test_a_source_that_is_not_a_checkout_is_refused(tmp_path):
    result = install("--dry-run", "--source", str(tmp_path), "--no-venv", check=False)
    assert result.returncode != 0
    assert f"{tmp_path}/systemd/cx-vision@.service is missing" in result.stderr


def test_a_real_install_needs_root():
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot drop to a normal user")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        prefix = []
    # The script comes on stdin so the unprivileged user needs no access to pytest's tmp dirs.
    result = subprocess.run([*prefix, "bash", "-s", "--", "--source", str(REPO), "--no-venv"],
                            input=SCRIPT.read_text(), capture_output=True, text=True,
                            timeout=60, cwd="/")
    assert result.returncode != 0
    assert "run as root" in result.stderr


def test_credentials_placeholder_is_what_cx_sync_reads_once_filled_in(destdir):
    from sync.mqtt import SecurityError, read_credentials

    credentials = destdir / "etc/cx-station/mqtt.credentials"
    # Unfilled, cx-sync refuses to start with a message naming the file.
    with pytest.raises(SecurityError, match="mqtt.credentials"):
        read_credentials(credentials)
    credentials.write_text(credentials.read_text()
                           .replace('username = ""', 'username = "acme-hcm-d1-kiosk-1"')
                           .replace('password = ""', 'password = "correct horse"'))
    assert read_credentials(credentials) == ("acme-hcm-d1-kiosk-1", "correct horse")


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl is not installed")
def test_a_station_with_two_cameras_gets_a_cx_vision_per_camera(tmp_path):
    root = tmp_path / "root"
    config = root / "etc/cx-station/station.toml"
    config.parent.mkdir(parents=True)
    example = (REPO / "config/station.example.toml").read_text()
    vision = example.index("[vision]")
    config.write_text(example[:vision] + CAMERAS + "\n[sync]" + example.split("\n[sync]", 1)[1])
    install("--destdir", str(root), "--no-venv", "--no-models")
    wants = root / "etc/systemd/system/cx-station.target.wants"
    vision = sorted(p.name for p in wants.iterdir() if p.name.startswith("cx-vision"))
    assert vision == ["cx-vision@door.service", "cx-vision@kiosk-cam.service"]
    assert all(os.readlink(wants / name) == "/etc/systemd/system/cx-vision@.service"
               for name in vision)


def test_a_config_that_does_not_load_enables_no_camera_and_names_the_key(tmp_path):
    root = tmp_path / "root"
    config = root / "etc/cx-station/station.toml"
    config.parent.mkdir(parents=True)
    example = (REPO / "config/station.example.toml").read_text()
    vision = example.index("[vision]")
    config.write_text(example[:vision] + CAMERAS.replace('id = "kiosk-cam"', 'id = "door"')
                      + "\n[sync]" + example.split("\n[sync]", 1)[1])
    result = install("--destdir", str(root), "--no-venv", "--no-models")
    assert "vision.cameras[1].id" in result.stderr and "cx-vision@ID" in result.stderr
    if shutil.which("systemctl"):
        wants = root / "etc/systemd/system/cx-station.target.wants"
        assert not [p for p in wants.iterdir() if p.name.startswith("cx-vision")]


CAMERAS = """
[vision]
models_dir = "/var/lib/cx-station/models"

[[vision.cameras]]
id = "door"
source = "0"
[[vision.cameras.lines]]
name = "door"
a = [0, 200]
b = [640, 200]

[[vision.cameras]]
id = "kiosk-cam"
source = "1"
kiosk_zone = "kiosk"
[[vision.cameras.zones]]
name = "kiosk"
polygon = [[0, 0], [100, 0], [100, 100]]
"""


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl is not installed")
def test_with_hq_enables_the_hq_prune_and_the_dashboard_once_hq_has_users(tmp_path):
    root = tmp_path / "root"
    result = install("--destdir", str(root), "--no-venv", "--no-models", "--with-hq",
                     "--python", sys.executable)
    wants = root / "etc/systemd/system/cx-station.target.wants"
    station = ["cx-kiosk.service", "cx-prune.timer", "cx-sync.service",
               "cx-vision@main.service", "cx-watch.service"]
    assert sorted(p.name for p in wants.iterdir()) == sorted(
        station + ["cx-hq.service", "cx-hq-prune.timer"])
    for unit in ("cx-hq-web.service", "cx-hq-prune.service", "cx-hq-prune.timer"):
        assert mode(root / "etc/systemd/system" / unit) == 0o644
    assert "no [[web.users]]" in result.stdout and "cx-hq-web.service" in result.stdout

    from station.pin import hash_secret
    hq_toml = root / "etc/cx-station/hq.toml"
    hq_toml.write_text(hq_toml.read_text(encoding="utf-8") + "\n[[web.users]]\n"
                       f'username = "ann"\npassword_hash = "{hash_secret("ann-password-1")}"\n',
                       encoding="utf-8")
    install("--destdir", str(root), "--no-venv", "--no-models", "--with-hq",
            "--python", sys.executable)
    assert sorted(p.name for p in wants.iterdir()) == sorted(
        station + ["cx-hq.service", "cx-hq-prune.timer", "cx-hq-web.service"])

    hq_toml.write_text(hq_toml.read_text(encoding="utf-8").replace('username = "ann"',
                                                                   'username = "Ann!"'),
                       encoding="utf-8")
    result = install("--destdir", str(root), "--no-venv", "--no-models", "--with-hq",
                     "--python", sys.executable)
    assert "web.users[0].username" in result.stderr and "does not load" in result.stderr
