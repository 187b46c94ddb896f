"""station/supervisor.py with real child processes (small `python -c` programs)."""
from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from station.config import parse_config
from station.supervisor import PortTaken, Service, Supervisor, find_mosquitto, plan_services

PY = sys.executable


def _service(name, code, **kw) -> Service:
    return Service(name, [PY, "-c", code], **kw)


def _wait_exit(service: Service, timeout=20) -> int:
    return service.process.wait(timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_crashing_child_is_restarted_with_growing_backoff():
    crash = _service("crash", "raise SystemExit(3)")
    log: list[str] = []
    sup = Supervisor([crash], log=log.append, max_backoff_s=30)
    now, delays, pids = 100.0, [], set()
    for _ in range(7):
        sup.start_due(now)
        assert crash.process is not None
        pids.add(crash.process.pid)
        assert _wait_exit(crash) == 3
        sup.reap(now)
        assert crash.process is None and not crash.finished
        delays.append(crash.next_start - now)
        sup.start_due(crash.next_start - 0.01)        # not yet due: nothing is started
        assert crash.process is None
        now = crash.next_start
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert crash.restarts == 7 and len(pids) == 7      # a new process each time
    assert "exited with status 3; restarting in 2 s (restart 2)" in "\n".join(log)


def test_a_crashing_child_is_restarted_by_the_run_loop(tmp_path):
    starts = tmp_path / "starts"
    code = f"import time; open({str(starts)!r}, 'a').write(f'{{time.time()}}\\n'); " \
           f"raise SystemExit(1)"
    crash = _service("crash", code)
    log: list[str] = []
    sup = Supervisor([crash], log=log.append)
    t0 = time.monotonic()
    sup.run(lambda: crash.restarts >= 2 or time.monotonic() - t0 > 30, interval_s=0.05)
    assert crash.restarts == 2, log
    times = [float(line) for line in starts.read_text().split()]
    assert len(times) == 2
    assert times[1] - times[0] >= 1.0                 # the first backoff was waited out
    assert [m for m in log if "restarting" in m] == [
        "crash exited with status 1; restarting in 1 s (restart 1)",
        "crash exited with status 1; restarting in 2 s (restart 2)"]


def test_a_child_that_exits_0_is_not_restarted(tmp_path):
    starts = tmp_path / "starts"
    done = _service("done", f"open({str(starts)!r}, 'a').write('x')")
    log: list[str] = []
    sup = Supervisor([done], log=log.append)
    seen = {}

    def should_stop():
        if done.finished:
            seen.setdefault("at", time.monotonic())
            return time.monotonic() - seen["at"] > 1.5      # longer than the first backoff
        return time.monotonic() - t0 > 30

    t0 = time.monotonic()
    sup.run(should_stop, interval_s=0.05)
    assert starts.read_text() == "x"
    assert done.finished and done.restarts == 0 and done.process is None
    assert "done finished" in log


def test_stop_sigterms_every_child_and_they_are_gone():
    sleepers = [_service(f"s{i}", "import time; time.sleep(60)") for i in range(3)]
    sup = Supervisor(sleepers, log=lambda m: None)
    sup.start_due(time.monotonic())
    procs = [s.process for s in sleepers]
    assert all(p.poll() is None for p in procs)
    t0 = time.monotonic()
    sup.stop()
    assert time.monotonic() - t0 < 9          # well under the 10 s SIGKILL fallback
    assert [p.returncode for p in procs] == [-signal.SIGTERM] * 3
    assert not any(_alive(p.pid) for p in procs)
    assert all(s.process is None for s in sleepers)


def test_stop_kills_a_child_that_ignores_sigterm():
    stubborn = _service("stubborn", "import signal, sys, time\n"
                                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                    "print('armed', flush=True)\ntime.sleep(60)")
    log: list[str] = []
    sup = Supervisor([stubborn], log=log.append, stop_timeout_s=0.5)
    stubborn.process = subprocess.Popen(stubborn.argv, stdout=subprocess.PIPE, text=True)
    assert stubborn.process.stdout.readline().strip() == "armed"
    proc = stubborn.process
    sup.stop()
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and not _alive(proc.pid)
    assert any("did not stop" in m for m in log)


def test_stop_runs_clients_first_and_the_broker_last(tmp_path):
    order = tmp_path / "order"
    code = ("import signal, sys, time\n"
            "def bye(*a):\n"
            f"    open({str(order)!r}, 'a').write(sys.argv[1] + ' ')\n"
            "    sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, bye)\n"
            "print('ok', flush=True)\n"
            "time.sleep(60)\n")
    services = [Service(n, [PY, "-c", code, n]) for n in ("broker", "sync", "kiosk")]
    for s in services:
        s.process = subprocess.Popen(s.argv, stdout=subprocess.PIPE, text=True)
    for s in services:
        assert s.process.stdout.readline().strip() == "ok"
        s.process.stdout.close()
    Supervisor(services, log=lambda m: None).stop()
    assert order.read_text().split() == ["kiosk", "sync", "broker"]


def _config(tmp_path, **sections):
    raw = {"station": {"org": "acme", "store": "s1", "id": "k1"},
           "database": {"path": "station.db"}, **sections}
    return parse_config(raw, base_dir=tmp_path)


def test_plan_services_lists_only_modules_that_exist(tmp_path):
    config = _config(tmp_path, hq={"enabled": True, "config": "hq.toml", "web": True},
                     broker={"managed": False})
    cfg = tmp_path / "station.toml"
    services, notes = plan_services(config, cfg)
    modules = {"hq": "hq", "web": "hq", "sync": "sync", "vision": "vision",
               "watch": "station.watch", "kiosk": "kiosk"}
    planned = {s.name.split(":")[0] for s in services}
    for name, module in modules.items():
        exists = importlib.util.find_spec(f"{module}.__main__") is not None
        assert (name in planned) == exists, name
        assert any(n.startswith(f"{name}: not part of this build") for n in notes) == \
            (not exists), name
    for s in services:
        own = str(tmp_path / "hq.toml") if s.name in ("hq", "web") else str(cfg)  # HQ's file
        assert s.argv[:3] == [PY, "-m", modules[s.name.split(":")[0]]] and own in s.argv
    assert next(s for s in services if s.name == "web").argv[3] == "serve"
    # start order: HQ and sync before the producers
    order = [s.name.split(":")[0] for s in services]
    assert order == sorted(order, key=["hq", "web", "sync", "vision", "watch", "kiosk"].index)


def test_plan_services_leaves_out_what_the_config_disables(tmp_path):
    config = _config(tmp_path, kiosk={"enabled": False}, vision={"enabled": False},
                     sync={"enabled": False}, hq={"enabled": False}, broker={"managed": False},
                     alerts={"enabled": False})
    assert plan_services(config, tmp_path / "x.toml") == ([], [])


@pytest.mark.skipif(find_mosquitto() is None, reason="Debian package mosquitto not installed")
def test_managed_broker_gets_a_loopback_only_config_and_starts_first(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = _config(tmp_path, broker={"managed": True, "port": port, "data_dir": "mq"},
                     kiosk={"enabled": False}, vision={"enabled": False})
    services, notes = plan_services(config, tmp_path / "station.toml")
    broker = services[0]
    assert broker.name == "broker" and broker.argv[1] == "-c"
    conf = Path(broker.argv[2])
    assert conf.parent == tmp_path / "mq"
    text = conf.read_text()
    listeners = [line for line in text.splitlines() if line.startswith(("listener", "port"))]
    assert listeners == [f"listener {port} 127.0.0.1"]
    assert f"persistence_location {tmp_path / 'mq'}/" in text
    assert "max_queued_messages 1000000" in text

    # the real mosquitto accepts that file and listens on loopback only
    sup = Supervisor([broker], log=lambda m: None)
    try:
        sup.start_due(time.monotonic())
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert broker.process.poll() is None, "mosquitto exited"
                assert time.monotonic() < deadline, "mosquitto did not listen"
                time.sleep(0.1)
        listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
        local = [line.split()[1] for line in listening if line.split()[3] == "0A"]
        ours = [a for a in local if int(a.split(":")[1], 16) == port]
        assert ours == ["0100007F:%04X" % port]          # 127.0.0.1 only, not 0.0.0.0
    finally:
        proc = broker.process
        sup.stop()
    assert proc.returncode is not None and not _alive(proc.pid)


def _taken_port():
    """A port some other program listens on (here: this test), as a running demo's broker."""
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    return other, other.getsockname()[1]


@pytest.mark.skipif(find_mosquitto() is None, reason="Debian package mosquitto not installed")
def test_plan_services_refuses_a_managed_broker_whose_port_is_taken(tmp_path):
    other, port = _taken_port()
    with other:
        config = _config(tmp_path, broker={"managed": True, "port": port, "data_dir": "mq"})
        with pytest.raises(PortTaken, match=f"127.0.0.1:{port}.*\\[broker\\] port"):
            plan_services(config, tmp_path / "station.toml")
    assert not (tmp_path / "mq").exists()               # not even the broker's config


@pytest.mark.skipif(find_mosquitto() is None, reason="Debian package mosquitto not installed")
def test_run_with_a_managed_broker_on_a_taken_port_starts_nothing_and_fails(tmp_path):
    """A second `make demo` must not join the first one's broker (its sync and HQ would mix
    the two stations' data): `cx-station run` says which port and what to do, and exits."""
    other, port = _taken_port()
    path = tmp_path / "station.toml"
    path.write_text(f"""
[station]
org = "acme"
store = "s1"
id = "k1"
[database]
path = "station.db"
[kiosk]
enabled = false
[vision]
enabled = false
[sync]
broker_port = {port}
[hq]
enabled = true
config = "hq.toml"
[broker]
managed = true
port = {port}
""", encoding="utf-8")
    with other:
        result = subprocess.run([PY, "-m", "station.cli", "run", "--config", str(path),
                                 "--for", "3"], capture_output=True, text=True, timeout=60)
        other.setblocking(False)
        with pytest.raises(BlockingIOError):
            other.accept()                              # no service of the station came
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr and "[broker] port" in result.stderr
    assert "started" not in result.stdout


def test_plan_services_starts_one_cx_vision_per_camera(tmp_path):
    camera = {"lines": [{"name": "door", "a": [0, 0], "b": [9, 9]}]}
    config = _config(tmp_path, broker={"managed": False}, vision={"cameras": [
        {"id": "door", "source": "0", **camera},
        {"id": "kiosk-cam", "source": "1", "lines": [], "zones": []}]})
    services, _ = plan_services(config, tmp_path / "station.toml")
    vision = [s for s in services if s.name.startswith("vision")]
    assert [s.name for s in vision] == ["vision:door", "vision:kiosk-cam"]
    assert [s.argv[s.argv.index("--camera") + 1] for s in vision] == ["door", "kiosk-cam"]
