"""The systemd units: valid to systemd itself, hardened, each service reaching only its devices.

`systemd-analyze verify` checks every directive the way systemd would load it, but it exits 0
even for unknown keys or bad values (it only prints them), so any output on stderr fails here.
It also insists that ExecStart's binary exists, so the units are verified inside a throw-away
root (`--root`) holding the system's own units and stub binaries at the units' real paths:
the unit files are checked exactly as shipped.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT_DIR = REPO / "systemd"
SERVICES = ["cx-vision@.service", "cx-kiosk.service", "cx-sync.service", "cx-watch.service",
            "cx-hq.service", "cx-hq-web.service"]
HQ_SERVICES = ("cx-hq.service", "cx-hq-web.service")
# The prunes are oneshots on timers: verified with the others, not held to the services' rules.
UNITS = SERVICES + ["cx-prune.service", "cx-prune.timer", "cx-hq-prune.service",
                    "cx-hq-prune.timer", "cx-station.target"]
CONFIG = "/etc/cx-station/station.toml"
# HQ has its own config file (config/hq.example.toml).
CONFIGS = {name: "/etc/cx-station/hq.toml" if name in HQ_SERVICES else CONFIG
           for name in SERVICES}
# a service that runs a subcommand of another entry point than its name: (program, subcommand)
COMMANDS = {"cx-hq-web.service": ("cx-hq", "serve")}
SYSTEM_UNITS = [Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")]

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package: systemd)")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value in order (systemd allows a key to repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    pending = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            raise ValueError(f"{path.name}:{number}: not a key=value line in a section: {raw!r}")
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(name: str) -> dict[str, list[str]]:
    return parse_unit(UNIT_DIR / name)["Service"]


def last(section: dict[str, list[str]], key: str) -> str | None:
    """The effective value of a single-valued key (the last assignment wins)."""
    values = section.get(key)
    return values[-1] if values else None


def words(section: dict[str, list[str]], key: str) -> set[str]:
    return {w for value in section.get(key, []) for w in value.split()}


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit or "s"]
    return total


def bytes_(value: str) -> int:
    factor = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    match = re.fullmatch(r"(\d+)([KMG]?)", value)
    assert match, f"not a byte size: {value!r}"
    return int(match[1]) * factor[match[2]]


# --- systemd-analyze verify -----------------------------------------------------------------

@pytest.fixture(scope="module")
def verify_root(tmp_path_factory) -> Path:
    """A root with the system's units, our units, and stub binaries where ExecStart points."""
    root = tmp_path_factory.mktemp("root")
    system_units = next((p for p in SYSTEM_UNITS if (p / "sysinit.target").exists()), None)
    if system_units is None:
        pytest.skip("no systemd unit directory with sysinit.target (Debian package: systemd)")
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(UNIT_DIR / name, target / name)
        for command in parse_unit(UNIT_DIR / name).get("Service", {}).get("ExecStart", []):
            binary = root / command.split()[0].lstrip("-@:+!").lstrip("/")
            binary.parent.mkdir(parents=True, exist_ok=True)
            binary.write_text("#!/bin/sh\nexit 0\n")
            binary.chmod(0o755)
    return root


def verify(root: Path, unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", str(unit)],
                          capture_output=True, text=True, timeout=60)


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_unit_passes_systemd_analyze_verify_silently(verify_root, name):
    result = verify(verify_root, verify_root / "etc/systemd/system" / name)
    assert result.stderr == "", result.stderr
    assert result.returncode == 0, result.stdout


@needs_systemd_analyze
def test_verify_harness_reports_a_broken_directive(verify_root):
    # Guards the test above against passing vacuously (wrong root, unit not loaded at all).
    broken = verify_root / "etc/systemd/system/cx-broken.service"
    text = (UNIT_DIR / "cx-sync.service").read_text()
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=strictest")
                          .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    try:
        result = verify(verify_root, broken)
    finally:
        broken.unlink()
    assert "strictest" in result.stderr
    assert "NoNewPrivilege" in result.stderr


# --- hardening, read from the units ----------------------------------------------------------

HARDENING = {
    "Type": "notify",
    "NotifyAccess": "main",
    "Restart": "on-failure",
    "User": "cx-station",
    "Group": "cx-station",
    "StateDirectory": "cx-station",
    "StateDirectoryMode": "0750",
    "ConfigurationDirectory": "cx-station",
    "ConfigurationDirectoryMode": "0750",
    "ReadWritePaths": "/var/lib/cx-station",
    "UMask": "0027",
    "StandardOutput": "journal",
    "StandardError": "journal",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "RemoveIPC": "yes",
    "SystemCallArchitectures": "native",
    # Frames, PINs and passwords live only in memory; a core dump would write them to disk.
    "LimitCORE": "0",
}


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_every_hardening_directive(name):
    section = service(name)
    wrong = {key: last(section, key) for key, value in HARDENING.items()
             if last(section, key) != value}
    assert wrong == {}, f"{name}: expected {[(k, HARDENING[k]) for k in wrong]}"


def program_of(name: str) -> str:
    """cx-sync.service -> cx-sync; the template cx-vision@.service -> cx-vision."""
    return name.removesuffix(".service").removesuffix("@")


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_its_entry_point_with_the_system_config(name):
    program, command = COMMANDS.get(name, (program_of(name), "run"))
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert program in scripts, f"{program} is not a [project.scripts] entry point"
    run = "" if program == "cx-kiosk" else f" {command}"
    camera = " --camera %i" if name.endswith("@.service") else ""   # instance = camera id
    assert service(name)["ExecStart"] == [
        f"/opt/cx-station/venv/bin/{program}{run} --config {CONFIGS[name]}{camera}"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_logs_under_its_own_name_and_restarts_after_a_pause(name):
    section = service(name)
    instance = "@%i" if name.endswith("@.service") else ""
    assert last(section, "SyslogIdentifier") == program_of(name) + instance
    assert seconds(last(section, "RestartSec")) >= 1
    # station.notify.watchdog() sends at most once a second: the timeout must leave slack.
    assert 10 <= seconds(last(section, "WatchdogSec")) <= 120


@pytest.mark.parametrize("name", SERVICES)
def test_service_belongs_to_the_station_target(name):
    unit = parse_unit(UNIT_DIR / name)
    assert "cx-station.target" in words(unit["Unit"], "PartOf")
    assert words(unit["Install"], "WantedBy") == {"cx-station.target"}
    assert words(unit["Unit"], "AssertPathExists") == {CONFIGS[name]}


def test_target_starts_at_boot():
    unit = parse_unit(UNIT_DIR / "cx-station.target")
    assert words(unit["Install"], "WantedBy") == {"multi-user.target"}


def test_memory_ceilings_fit_a_small_box():
    ceilings = {name: bytes_(last(service(name), "MemoryMax")) for name in SERVICES}
    assert all(c > 0 for c in ceilings.values())
    station = sum(ceilings[n] for n in ("cx-vision@.service", "cx-kiosk.service", "cx-sync.service",
                                        "cx-watch.service"))
    assert station <= 2 << 30, f"vision+kiosk+sync+watch may take {station >> 20} MiB"
    for name in SERVICES:
        high = last(service(name), "MemoryHigh")
        assert high is None or bytes_(high) < ceilings[name]


def test_services_with_no_device_get_a_private_dev():
    for name in ("cx-sync.service", "cx-watch.service", *HQ_SERVICES):
        section = service(name)
        assert last(section, "PrivateDevices") == "yes"
        assert "DeviceAllow" not in section


def test_vision_reaches_the_camera_and_no_other_device():
    section = service("cx-vision@.service")
    assert last(section, "DevicePolicy") == "closed"
    assert section["DeviceAllow"] == ["char-video4linux rw"]
    assert words(section, "SupplementaryGroups") == {"video"}


def test_kiosk_reaches_only_the_display_and_input_devices():
    section = service("cx-kiosk.service")
    assert last(section, "DevicePolicy") == "closed"
    assert sorted(section["DeviceAllow"]) == ["char-drm rw", "char-input rw"]
    assert words(section, "SupplementaryGroups") == {"video", "input"}
    env = dict(item.split("=", 1) for value in section["Environment"] for item in value.split())
    # linuxfb on DRM: needs /dev/dri/card* only, and loads from the PySide6-Essentials wheels.
    assert env["QT_QPA_PLATFORM"] == "linuxfb"
    assert env["QT_QPA_FB_DRM"] == "1"


def test_only_sync_hq_and_the_alert_hook_may_open_network_sockets():
    families = {name: words(service(name), "RestrictAddressFamilies") for name in SERVICES}
    assert families == {
        "cx-vision@.service": {"AF_UNIX"},
        "cx-kiosk.service": {"AF_UNIX"},
        "cx-sync.service": {"AF_UNIX", "AF_INET", "AF_INET6"},
        # the [alerts] command hook, e.g. curl posting to the store's chat webhook
        "cx-watch.service": {"AF_UNIX", "AF_INET", "AF_INET6"},
        "cx-hq.service": {"AF_UNIX", "AF_INET", "AF_INET6"},
        # serves HTTP, reads PostgreSQL, publishes pushes to the broker
        "cx-hq-web.service": {"AF_UNIX", "AF_INET", "AF_INET6"},
    }
    for name in ("cx-vision@.service", "cx-kiosk.service"):
        assert last(service(name), "IPAddressDeny") == "any"


def test_write_execute_memory_is_denied_where_no_code_is_generated():
    for name in ("cx-sync.service", *HQ_SERVICES):
        assert last(service(name), "MemoryDenyWriteExecute") == "yes"
    # cx-watch runs the [alerts] command hook: any program, maybe one with a JIT.
    for name in ("cx-vision@.service", "cx-kiosk.service", "cx-watch.service"):
        assert "MemoryDenyWriteExecute" not in service(name)
        # Left off on purpose; the unit must say why.
        assert "MemoryDenyWriteExecute= is left off" in (UNIT_DIR / name).read_text()


@pytest.mark.parametrize("name", SERVICES)
def test_system_calls_are_filtered_without_killing_the_service(name):
    section = service(name)
    assert section["SystemCallFilter"][0] == "@system-service"
    assert any(v.startswith("~") and "@privileged" in v for v in section["SystemCallFilter"])
    assert last(section, "SystemCallErrorNumber") == "EPERM"


def test_watch_may_run_its_alert_hook():
    """cx-watch execs `[alerts] command` (a program, e.g. curl): nothing may forbid that."""
    section = service("cx-watch.service")
    denied = " ".join(v.lstrip("~") for v in section["SystemCallFilter"] if v.startswith("~"))
    for group in ("@process", "@default", "@network-io", "@file-system"):
        assert group not in denied.split()
    for call in ("execve", "execveat", "fork", "vfork", "clone", "clone3", "wait4", "kill"):
        assert call not in denied.split()
    if shutil.which("systemd-analyze"):
        listed = subprocess.run(["systemd-analyze", "syscall-filter", *denied.split()],
                                capture_output=True, text=True, timeout=60).stdout.split()
        for call in ("execve", "fork", "vfork", "clone", "clone3", "wait4", "statfs"):
            assert call not in listed, f"{call} is denied by SystemCallFilter=~{denied}"
    # A hook that outlives its timeout is killed by cx-watch; one running at a stop finishes.
    assert last(section, "KillMode") == "mixed"
    assert seconds(last(section, "TimeoutStopSec")) >= 10


def test_parser_keeps_repeated_keys_and_rejects_stray_lines(tmp_path):
    unit = tmp_path / "x.service"
    unit.write_text("[Service]\nDeviceAllow=a r\n# c\nDeviceAllow=b \\\n  rw\n")
    assert parse_unit(unit)["Service"]["DeviceAllow"] == ["a r", "b  rw"]
    unit.write_text("DeviceAllow=a\n")
    with pytest.raises(ValueError, match="x.service:1"):
        parse_unit(unit)


def test_retention_runs_daily_offline_and_catches_up_after_a_power_cut():
    timer = parse_unit(UNIT_DIR / "cx-prune.timer")
    assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == ["cx-station.target"]
    prune = service("cx-prune.service")
    assert prune["Type"] == ["oneshot"]
    assert prune["ExecStart"] == [f"/opt/cx-station/venv/bin/cx-station prune --config {CONFIG}"]
    assert prune["PrivateNetwork"] == ["yes"] and prune["User"] == ["cx-station"]
