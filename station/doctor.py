"""`cx-station doctor`: each part of the station is OK or has a clear reason."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

from station.config import ConfigError, load_config


def run_checks(config_path: Path) -> list[tuple[str, bool, str]]:
    results = []
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return [("config", False, str(exc))]
    results.append(("config", True, f"{config_path} ({config.station.path})"))
    results.append(_check_database(config))
    if config.vision.enabled:
        results.append(_check_models(config))
        results.extend(_check_cameras(config))
    if config.sync.enabled:
        results.append(_check_broker(config.sync.broker_host, config.sync.broker_port,
                                     managed=config.broker.managed))
    return results


def _check_database(config):
    from station.store import Store, StoreError
    path = Path(config.database.path)
    try:
        store = Store.open(config)
        version = store.schema_version
        pending = store.outbox_status()["pending"]
        store.close()
    except StoreError as exc:
        return ("database", False, str(exc))
    free = shutil.disk_usage(path.parent).free / 2 ** 30
    if free < 0.5:
        return ("database", False, f"only {free:.2f} GiB free on the database's disk")
    return ("database", True, f"{path} schema v{version}, {pending} events waiting for HQ, "
                              f"{free:.1f} GiB free")


def _check_models(config):
    try:
        from station.weights import verify_all
    except ImportError:
        return ("models", False, "this build has no model manifest")
    results = verify_all(Path(config.vision.models_dir))
    bad = [f"{name}: {reason}" for name, ok, reason in results if not ok]
    if bad:
        return ("models", False, "; ".join(bad) + " (run `cx-station models fetch`)")
    return ("models", True, f"{len(results)} verified in {config.vision.models_dir}")


def _check_cameras(config):
    """One check per camera, named 'camera' when the station has one, else 'camera ID'."""
    cameras = config.vision.cameras
    out = []
    for camera in cameras:
        _name, ok, said = _check_camera(camera.source, camera.kind)
        out.append(("camera" if len(cameras) == 1 else f"camera {camera.id}", ok, said))
    return out


def _check_camera(camera, kind):
    if kind == "none":
        return ("camera", False, "no camera configured: set [vision] camera to a device index, "
                                 "an RTSP/HTTP URL or a video file")
    if kind == "file":
        ok = Path(camera).is_file()
        return ("camera", ok, f"video file {camera}" + ("" if ok else " does not exist"))
    if kind == "device":
        dev = Path(f"/dev/video{camera}")
        return ("camera", dev.exists(), f"{dev}" + ("" if dev.exists() else " does not exist"))
    return ("camera", True, f"{camera.split('@')[-1]} (stream: checked when cx-vision connects)")


def _check_broker(host, port, managed):
    try:
        with socket.create_connection((host, port), timeout=2):
            return ("broker", True, f"{host}:{port} accepts connections")
    except OSError as exc:
        hint = " (started by `cx-station run`)" if managed else ""
        return ("broker", managed, f"{host}:{port} not reachable now: {exc.strerror or exc}{hint}")
