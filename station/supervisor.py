"""`cx-station run`: start the station's services as child processes and keep them running.

    supervisor = Supervisor(plan_services(config), log=print)
    supervisor.run(until=stop_event)     # restarts crashed children with backoff

It only starts and supervises processes; each service has its own `main`, and they talk
only through the database (and MQTT). A child that exits with status 0 has finished on
purpose and is not restarted; a crash is restarted after 1, 2, 4 ... 30 s.

A managed broker's port must be free: `plan_services` raises `PortTaken` otherwise, since
this station's services would join whatever listens there (another demo's broker) and mix
their data with its stations'.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class PortTaken(RuntimeError):
    """The managed broker's loopback port is taken: nothing may start."""


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    finished: bool = False


def plan_services(config, config_path: Path) -> tuple[list[Service], list[str]]:
    """The services this config asks for, in start order, and notes on what was left out."""
    services, notes = [], []
    py = sys.executable
    cfg = str(config_path)
    broker_ok = True
    if config.broker.managed:
        mosquitto = find_mosquitto()
        if mosquitto:
            check_port_free(config.broker.port)
            conf = write_broker_config(config)
            services.append(Service("broker", [mosquitto, "-c", str(conf)]))
        else:
            broker_ok = False
            notes.append("mosquitto is not installed (Debian: apt-get install mosquitto); "
                         "sync and HQ are not started")
    wanted = [
        # HQ runs from its own config file ([hq] config), never from the station's.
        ("hq", config.hq.enabled and broker_ok, "hq", ["run", "--config", str(config.hq.config)]),
        # the dashboard reads the HQ database (it waits, restarted, until the receiver made it)
        ("web", config.hq.enabled and config.hq.web, "hq",
         ["serve", "--config", str(config.hq.config)]),
        ("sync", config.sync.enabled and broker_ok, "sync", ["run", "--config", cfg]),
        # one cx-vision per camera, each with its own health and restarts
        *((f"vision:{camera.id}", config.vision.enabled, "vision",
           ["run", "--config", cfg, "--camera", camera.id]) for camera in config.vision.cameras),
        ("watch", config.alerts.enabled, "station.watch", ["run", "--config", cfg]),
        ("kiosk", config.kiosk.enabled, "kiosk", ["--config", cfg]),
    ]
    for name, enabled, module, args in wanted:
        if not enabled:
            continue
        if importlib.util.find_spec(f"{module}.__main__") is None:
            notes.append(f"{name}: not part of this build yet")
            continue
        env = {}
        if name == "kiosk" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            env["QT_QPA_PLATFORM"] = "offscreen"
            notes.append("kiosk: no screen found, running offscreen (set DISPLAY to see it)")
        services.append(Service(name, [py, "-m", module, *args], env))
    return services, notes


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None)


def check_port_free(port: int) -> None:
    """Raise PortTaken unless a broker of ours could listen on 127.0.0.1:port."""
    with socket.socket() as probe:
        # mosquitto listens with SO_REUSEADDR too: a TIME_WAIT left by our last broker is
        # no owner, a listening socket is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortTaken(
                f"the station's broker cannot listen on 127.0.0.1:{port} ({exc.strerror}): "
                f"another process has that port, most likely another demo's broker, which "
                f"this station's services would join, mixing their data. Stop that process, "
                f"or give this station its own port: set [broker] port and the same value in "
                f"[sync] broker_port (and broker_port in the HQ's own config).") from None


def write_broker_config(config) -> Path:
    """A loopback-only mosquitto for a single-box demo; queues sized for long HQ outages."""
    data = Path(config.broker.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    lines = [
        f"listener {config.broker.port} 127.0.0.1",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {data}/",
        f"max_queued_messages {config.broker.max_queued_messages}",
        "max_inflight_messages 0",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
    ]
    if os.geteuid() == 0:
        lines.append("user root")   # otherwise it drops to 'mosquitto' and can't write data_dir
    conf = data / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


class Supervisor:
    def __init__(self, services: list[Service], log=print, max_backoff_s: float = 30.0,
                 stop_timeout_s: float = 10.0, healthy_after_s: float = 300.0):
        self.services = services
        self.healthy_after_s = healthy_after_s
        self.log = log
        self.max_backoff_s = max_backoff_s
        self.stop_timeout_s = stop_timeout_s

    def start_due(self, now: float) -> None:
        for s in self.services:
            if s.process is None and not s.finished and now >= s.next_start:
                env = {**os.environ, **s.env}
                s.process = subprocess.Popen(s.argv, env=env, start_new_session=True)
                s.started_at = now
                self.log(f"started {s.name} (pid {s.process.pid})")
                if s.name == "broker":
                    time.sleep(0.3)     # let the broker listen before its clients connect

    def reap(self, now: float) -> None:
        for s in self.services:
            if s.process is None:
                continue
            rc = s.process.poll()
            if rc is None:
                continue
            s.process = None
            if rc == 0:
                s.finished = True
                self.log(f"{s.name} finished")
                continue
            if now - s.started_at > self.healthy_after_s:
                s.restarts = 0          # it ran fine for a while: start the backoff afresh
            delay = min(self.max_backoff_s, 2 ** s.restarts)
            s.restarts += 1
            s.next_start = now + delay
            self.log(f"{s.name} exited with status {rc}; restarting in {delay:.0f} s "
                     f"(restart {s.restarts})")

    def run(self, should_stop, tick=None, interval_s: float = 0.2) -> None:
        """Loop until should_stop() is true; `tick()` runs about every interval."""
        try:
            while not should_stop():
                now = time.monotonic()
                self.reap(now)
                self.start_due(now)
                if tick:
                    tick()
                time.sleep(interval_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """SIGTERM every child (clients first, broker last), then SIGKILL stragglers."""
        for s in reversed(self.services):
            if s.process and s.process.poll() is None:
                s.process.send_signal(signal.SIGTERM)
                try:
                    s.process.wait(self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    self.log(f"{s.name} did not stop in {self.stop_timeout_s:.0f} s; killing it")
                    s.process.kill()
                    s.process.wait()
            s.process = None
