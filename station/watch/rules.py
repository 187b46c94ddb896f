"""The alert rules cx-watch evaluates on a timer: each looks at what the services wrote (their
health rows, the outbox, traffic and responses) and says whether its condition holds now.

    rule = CameraNoFrame(config)
    finding = rule.look(store, now)     # a Finding per subject (condition held or cleared)

A rule only observes; `Watcher` (station/watch/__init__.py) turns findings into alerts with
hysteresis, so a flapping condition keeps one alert open instead of opening hundreds.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CAMERA_NO_FRAME = "camera_no_frame"
CAMERA_FPS_LOW = "camera_fps_low"
SYNC_STALLED = "sync_stalled"
DISK_LOW = "disk_low"
DB_WRITE_ERRORS = "db_write_errors"
KIOSK_QUIET = "kiosk_quiet"


@dataclass(frozen=True)
class Finding:
    """What one rule saw for one subject: `firing` True when its condition holds now."""
    kind: str
    subject: str
    firing: bool
    severity: str = "warning"
    context: dict = field(default_factory=dict)


class Rule:
    kind: str
    every_s: float = 0.0             # 0: at every check of the watcher

    def look(self, store, now: float) -> list[Finding]:
        raise NotImplementedError


def camera_subject(camera: str) -> str:
    """An alert's subject for one camera: 'camera' for the single-camera form's "main" (as
    before several cameras), else 'camera <id>'."""
    return "camera" if camera == "main" else f"camera {camera}"


class CameraNoFrame(Rule):
    """No frame from a camera for `no_frame_s` (unplugged, stream down, its cx-vision
    stopped); one finding per camera, from its own health row."""
    kind = CAMERA_NO_FRAME

    def __init__(self, no_frame_s: float, started_at: float, cameras=("main",)):
        self.no_frame_s = no_frame_s
        self.started_at = started_at      # a vision that never wrote is judged from here
        self.cameras = list(cameras)

    def look(self, store, now):
        health = store.camera_health()
        findings = []
        for camera in self.cameras:
            vision = health.get(camera, {})
            last = vision.get("last_frame")
            since = last if isinstance(last, (int, float)) else self.started_at
            silent = now - since
            findings.append(Finding(self.kind, camera_subject(camera), silent > self.no_frame_s,
                                    "critical", {
                                        "camera": camera,
                                        "seconds_without_frame": round(silent, 1),
                                        "last_frame": last, "status": vision.get("status"),
                                        "reopens": vision.get("reopens")}))
        return findings


class CameraFpsLow(Rule):
    """Frames come, but slower than `min_fps` (an overloaded box, a camera in low light).
    Judged per camera and only while its frames come: no frame at all is CameraNoFrame's."""
    kind = CAMERA_FPS_LOW

    def __init__(self, min_fps: float, fps_cap: float | dict, fresh_s: float):
        # a camera capped near the floor runs slow by design (and its measured rate wavers
        # just under its cap); `fps_cap` is one cap, or {camera id: cap}
        caps = fps_cap if isinstance(fps_cap, dict) else {"main": fps_cap}
        self.min_fps = {camera: min(min_fps, 0.75 * cap) for camera, cap in caps.items()}
        self.fresh_s = fresh_s

    def look(self, store, now):
        health = store.camera_health()
        findings = []
        for camera, min_fps in self.min_fps.items():
            vision = health.get(camera, {})
            last, fps = vision.get("last_frame"), vision.get("fps")
            if not isinstance(last, (int, float)) or now - last > self.fresh_s or \
                    not isinstance(fps, (int, float)):
                continue                    # no verdict: the condition neither holds nor clears
            findings.append(Finding(self.kind, camera_subject(camera), fps < min_fps, "warning",
                                    {"camera": camera, "fps": fps, "min_fps": min_fps}))
        return findings


class SyncStalled(Rule):
    """Events wait for HQ and HQ acknowledged nothing for `ack_age_min` minutes."""
    kind = SYNC_STALLED
    every_s = 30.0

    def __init__(self, ack_age_min: float, hq_name: str):
        self.max_age_s = ack_age_min * 60
        self.hq_name = hq_name

    def look(self, store, now):
        # outbox_status's figures: the waiting rows through their index, the last ack from its
        # own (schema migration 9), so the week of acknowledged rows kept is not read every 30 s
        pending, oldest = store.db.execute(
            "SELECT count(*), min(created_at) FROM outbox WHERE acked_at IS NULL").fetchone()
        acked = store.db.execute(
            "SELECT max(acked_at) FROM outbox WHERE acked_at IS NOT NULL").fetchone()[0]
        # the wait starts at the older of: the last ack, the oldest waiting event
        waiting_since = max(oldest, acked or 0) if oldest is not None else None
        firing = waiting_since is not None and now - waiting_since > self.max_age_s
        return [Finding(self.kind, self.hq_name, firing, "warning", {
            "backlog": pending, "last_acked_at": acked,
            "oldest_waiting_age_s": round(now - oldest, 1) if oldest is not None else None})]


class DiskLow(Rule):
    """Less than `free_min_mb` free on the database's disk: a full disk stops every writer."""
    kind = DISK_LOW
    every_s = 30.0

    def __init__(self, free_min_mb: float, path: Path, disk_usage=shutil.disk_usage):
        self.free_min = free_min_mb * 1e6
        self.path = Path(path)
        self.disk_usage = disk_usage

    def look(self, store, now):
        try:
            usage = self.disk_usage(self.path.parent)
        except OSError:
            return []
        return [Finding(self.kind, "disk", usage.free < self.free_min, "critical", {
            "free_mb": round(usage.free / 1e6, 1), "min_free_mb": self.free_min / 1e6,
            "path": str(self.path.parent)})]


class WriteErrors(Rule):
    """A service could not write the database: each service counts its failed writes in its
    health row (`write_errors`); a count that grew since the last look fires, one that stayed
    still clears. The watcher's own failed reads and writes come in through `failed_write`."""
    kind = DB_WRITE_ERRORS

    def __init__(self):
        self.seen: dict[str, int] | None = None   # None until the first look
        self.own: list[str] = []          # errors of the watcher's own writes, since the last look

    def failed_write(self, reason: str) -> None:
        self.own.append(reason)

    def look(self, store, now):
        findings, first = [], self.seen is None
        seen = self.seen = {} if first else self.seen
        for component, health in store.health().items():
            count = health.get("write_errors")
            if not isinstance(count, int):
                continue
            before = seen.get(component)
            seen[component] = count
            if first:
                continue           # a count the watcher finds at its start is history
            # a count that fell is a restarted service: what it counts now is new
            new = count - before if before is not None and count >= before else count
            findings.append(Finding(self.kind, component, new > 0, "critical", {
                "write_errors": count, "new": new,
                "last_error": health.get("last_write_error")}))
        findings.append(Finding(self.kind, "watch", bool(self.own), "critical", {
            "write_errors": len(self.own), "last_error": self.own[-1] if self.own else None}))
        self.own = []
        return findings


class KioskQuiet(Rule):
    """The camera counts shoppers coming in but the kiosk got no answer for `hours`: a screen
    that is off, frozen or blocked."""
    kind = KIOSK_QUIET
    every_s = 60.0

    def __init__(self, hours: float, min_entries: int):
        self.window_s = hours * 3600
        self.min_entries = min_entries

    def look(self, store, now):
        since = now - self.window_s
        entries = store.entries(since, now)["entries"]
        answers = store.db.execute("SELECT count(*) FROM responses WHERE ts >= ? AND ts <= ?",
                                   (since, now)).fetchone()[0]
        if answers == 0 and entries < self.min_entries:
            return []         # a quiet store: silence means nothing either way
        return [Finding(self.kind, "kiosk", answers == 0, "warning", {
            "entries": entries, "answers": answers, "hours": self.window_s / 3600})]


def health_rules(config, started_at: float) -> list[Rule]:
    """The rules `config` switches on ([alerts]; a threshold of 0 turns its rule off)."""
    a, rules = config.alerts, []
    # every camera that has a source is watched; one without is idle on purpose
    cameras = [c for c in config.vision.cameras if c.kind != "none"] \
        if config.vision.enabled else []
    camera = bool(cameras)
    if camera and a.camera_no_frame_s > 0:
        rules.append(CameraNoFrame(a.camera_no_frame_s, started_at, [c.id for c in cameras]))
    if camera and a.camera_min_fps > 0:
        rules.append(CameraFpsLow(a.camera_min_fps, {c.id: c.fps_cap for c in cameras},
                                  fresh_s=max(a.camera_no_frame_s, 30.0)))
    if config.sync.enabled and a.sync_ack_age_min > 0:
        rules.append(SyncStalled(a.sync_ack_age_min, config.sync.hq_name))
    if a.disk_free_min_mb > 0:
        rules.append(DiskLow(a.disk_free_min_mb, config.database.path))
    if a.db_write_errors:
        rules.append(WriteErrors())
    if camera and config.kiosk.enabled and a.kiosk_quiet_hours > 0:
        rules.append(KioskQuiet(a.kiosk_quiet_hours, a.kiosk_quiet_min_entries))
    return rules
