"""One typed, validated config object per station, loaded once and passed down.

    config = load_config("config/demo.toml")
    print(config.station.id, config.database.path, config.vision.cameras[0].lines[0].name)

Every section is a frozen dataclass. Unknown keys are errors; every error names the key path,
the bad value and what is allowed (`ConfigError`). Relative paths are resolved against the
directory of the TOML file, so a config works from any working directory.
"""
from __future__ import annotations

import dataclasses
import os
import re
import string
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from station.targets import DIRECTIONS, PERIODS, TARGET_KPIS, Target, check_target


class ConfigError(ValueError):
    """A config value is wrong. `path` is the dotted key, e.g. ``vision.lines[0].a``."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def rule(default=dataclasses.MISSING, *, min=None, max=None, choices=None, pattern=None,
          path=False, doc=""):
    """A dataclass field with validation rules kept in its metadata."""
    meta = {"min": min, "max": max, "choices": choices, "pattern": pattern, "path": path, "doc": doc}
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)
    return field(default=default, metadata=meta)


ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


@dataclass(frozen=True)
class StationSection:
    org: str = rule(pattern=ID_PATTERN, doc="organisation id (lower case, digits, - or _)")
    store: str = rule(pattern=ID_PATTERN)
    id: str = rule(pattern=ID_PATTERN)
    name: str = rule("", doc="store name shown to shoppers")
    timezone: str = rule("UTC")
    opening_time: str = rule("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                             doc="local HH:MM the store opens: occupancy starts from 0 then")

    @property
    def path(self) -> str:
        """``org/store/station``: the station's identity in topics and envelopes."""
        return f"{self.org}/{self.store}/{self.id}"


@dataclass(frozen=True)
class DatabaseSection:
    path: Path = rule(path=True)
    busy_timeout_ms: int = rule(5000, min=0, max=600_000)


@dataclass(frozen=True)
class Reason:
    id: str = rule(pattern=ID_PATTERN)
    en: str = rule()
    vi: str = rule()


@dataclass(frozen=True)
class ReasonsSection:
    detractor: list[Reason] = rule([])
    passive: list[Reason] = rule([])
    promoter: list[Reason] = rule([])


def _placeholders(text: str) -> set[str]:
    """The {names} a text would fill in; raises ValueError on a lone { or }."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class Wording:
    """One language's own survey wording; empty = the kiosk's built-in text."""
    question: str = rule("", doc="the NPS question; {store} is replaced by the store's name")
    followup_detractor: str = rule("", doc="the follow-up title after a score of 0-6")
    followup_passive: str = rule("", doc="... after 7-8")
    followup_promoter: str = rule("", doc="... after 9-10")
    thanks_detractor: str = rule("", doc="the thank-you text after a score of 0-6")
    thanks_passive: str = rule("", doc="... after 7-8")
    thanks_promoter: str = rule("", doc="... after 9-10")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            allowed = {"store"} if f.name == "question" else set()
            try:
                extra = _placeholders(getattr(self, f.name)) - allowed
            except ValueError as exc:
                raise ConfigError(f.name, f"is not a valid text ({exc}); write {{{{ and }}}} "
                                          f"for a literal brace") from None
            if extra:
                raise ConfigError(f.name, f"unknown placeholder {{{sorted(extra)[0]}}}; "
                                          f"allowed: {sorted(allowed) or 'none'}")


@dataclass(frozen=True)
class WordingSection:
    """[kiosk.wording.vi] / [kiosk.wording.en]: the survey's texts in the store's own words."""
    vi: Wording = rule(Wording())
    en: Wording = rule(Wording())


@dataclass(frozen=True)
class ReviewUrls:
    vi: str = rule("")
    en: str = rule("")


@dataclass(frozen=True)
class KioskSection:
    enabled: bool = rule(True)
    languages: list[str] = rule(["vi", "en"], choices=("vi", "en"))
    default_language: str = rule("vi", choices=("vi", "en"))
    csat: bool = rule(True, doc="ask CSAT 1-5 after the NPS follow-up")
    ces: bool = rule(False, doc="ask CES 1-7")
    free_text: bool = rule(True)
    idle_timeout_s: float = rule(20.0, min=3, max=600)
    debounce_ms: int = rule(400, min=0, max=5000)
    cooldown_s: float = rule(3.0, min=0, max=600)
    thank_you_s: float = rule(4.0, min=0.5, max=60)
    review_url: str = rule("", doc="shown as a QR code to promoters; empty = no QR")
    review_urls: ReviewUrls = rule(ReviewUrls(),
                                   doc="per language, overriding review_url (a review page "
                                       "or a referral offer in the shopper's language)")
    first_visit: bool = rule(False, doc="ask 'is this your first visit to this store?' "
                                        "(yes / no / skip) after the other questions")
    complaints: bool = rule(True, doc="after a low score (0-6) offer 'report a problem / "
                                      "I'd like to be contacted'")
    admin_pin_hash: str = rule("", pattern=r"^(|scrypt\$\d+\$\d+\$\d+\$[0-9a-f]+\$[0-9a-f]+)$",
                                doc="from `cx-station pin-hash`; empty disables the admin screen")
    admin_idle_s: float = rule(120.0, min=10, max=3600)
    fullscreen: bool = rule(False)
    screen_diagonal_in: float = rule(21.5, min=5, max=100,
                                     doc="the kiosk screen's diagonal in inches: with the "
                                         "window's pixels it gives the DPI, so every touch "
                                         "target is at least 9 mm on the glass")
    brand_color: str = rule("#0b5cab", pattern=r"^#[0-9a-fA-F]{6}$",
                            doc="the store's colour (#rrggbb) for the attract screen and buttons")
    logo: Path | None = rule(None, path=True, doc="the store's logo (PNG or SVG) on the "
                                                  "attract screen; none = the store name")
    reasons: ReasonsSection = rule(ReasonsSection())
    wording: WordingSection = rule(WordingSection())

    def review_url_for(self, lang: str) -> str:
        """The promoter's QR link in `lang`: its own where set, else review_url."""
        return getattr(self.review_urls, lang, "") or self.review_url

    def __post_init__(self):
        if not self.languages:
            raise ConfigError("kiosk.languages", "must list at least one language")
        if self.default_language not in self.languages:
            raise ConfigError("kiosk.default_language",
                              f"{self.default_language!r} is not in kiosk.languages {self.languages}")
        for lang in ("vi", "en"):
            if getattr(self.review_urls, lang) and lang not in self.languages:
                raise ConfigError(f"kiosk.review_urls.{lang}",
                                  f"{lang!r} is not in kiosk.languages {self.languages}")
        if self.logo is not None and not Path(self.logo).is_file():
            raise ConfigError("kiosk.logo", f"{self.logo} is not a file (a PNG or SVG logo; "
                                            f"leave it out to show the store name)")


@dataclass(frozen=True)
class Line:
    name: str = rule(pattern=ID_PATTERN)
    a: list[float] = rule(doc="[x, y] pixels")
    b: list[float] = rule()
    entrance: bool = rule(True, doc="'in' crossings of this line count as store entries "
                                     "(footfall, participation rate)")

    def __post_init__(self):
        for key in ("a", "b"):
            if len(getattr(self, key)) != 2:
                raise ConfigError(key, f"must be [x, y], got {getattr(self, key)!r}")
        if list(self.a) == list(self.b):
            raise ConfigError("b", "must differ from a (a line needs two distinct points)")


@dataclass(frozen=True)
class Zone:
    name: str = rule(pattern=ID_PATTERN)
    polygon: list[list[float]] = rule(doc="[[x, y], ...] pixels, at least 3 points")
    role: str = rule("", choices=("", "checkout"),
                     doc="'checkout': a visit that reaches it counts as a buyer (camera "
                         "conversion)")

    def __post_init__(self):
        if len(self.polygon) < 3 or any(len(p) != 2 for p in self.polygon):
            raise ConfigError("polygon", f"needs at least 3 [x, y] points, got {self.polygon!r}")


# The [vision] keys that describe one camera: in the old single-camera form they sit in
# [vision] itself and make the camera "main" (`_one_camera`).
CAMERA_KEYS = {"camera": "source", "loop": "loop", "fps_cap": "fps_cap", "lines": "lines",
               "zones": "zones", "kiosk_zone": "kiosk_zone",
               "reconnect_max_s": "reconnect_max_s", "debug_preview": "debug_preview"}


@dataclass(frozen=True)
class Camera:
    """One camera and what it watches; `cx-vision run --camera ID` counts on it."""
    id: str = rule("main", pattern=ID_PATTERN, doc="the camera's id (lower case, digits, - or _)")
    source: str = rule("", doc="video file path, device index ('0') or rtsp://, http:// URL; "
                               "empty = no camera")
    loop: bool = rule(False, doc="restart a video file at its end (demo)")
    fps_cap: float = rule(15.0, min=1, max=120)
    lines: list[Line] = rule([])
    zones: list[Zone] = rule([])
    kiosk_zone: str = rule("", doc="name of this camera's zone in front of the kiosk; "
                                   "empty = none")
    debug_preview: bool = rule(False, doc="show a window with blurred faces; off in stores")
    reconnect_max_s: float = rule(30.0, min=0.1, max=3600)

    def __post_init__(self):
        for kind, items in (("lines", self.lines), ("zones", self.zones)):
            names = [item.name for item in items]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise ConfigError(f"{kind}[{i}].name", f"duplicate name {name!r}")
        if self.kiosk_zone and self.kiosk_zone not in {z.name for z in self.zones}:
            raise ConfigError("kiosk_zone", f"{self.kiosk_zone!r} is not one of this camera's "
                                            f"zones {[z.name for z in self.zones]}")

    @property
    def kind(self) -> str:
        return camera_kind(self.source)

    @property
    def entrance_lines(self) -> list[str]:
        return [line.name for line in self.lines if line.entrance]


@dataclass(frozen=True)
class VisionSection:
    """What every camera shares (models, detector, faces), and the cameras. A store's
    footfall is the 'in' crossings of entrance lines over all cameras, so line and zone names
    are unique across the cameras and only one camera watches the kiosk."""
    enabled: bool = rule(True)
    cameras: list[Camera] = rule([Camera()], doc="one [[vision.cameras]] table per camera")
    threads: int = rule(2, min=1, max=64)
    models_dir: Path = rule(Path("/var/lib/cx-station/models"), path=True)
    person_detector: str = rule("default")
    detector_input: list[int] = rule([], doc="[width, height] the person detector sees; [] = its "
                                              "default (NanoDet 480x352); larger finds smaller people, "
                                              "costs more")
    detect_every: int = rule(2, min=1, max=30, doc="run the person detector every k-th frame "
                                                    "(the tracker predicts in between)")
    faces: bool = rule(True, doc="estimate age bracket and gender per track")
    gender_min_confidence: float = rule(0.0, min=0.0, max=1.0,
                                         doc="store a visit's gender only when the estimate is at "
                                             "least this sure, else 'unknown'; 0.5 = always; 0 = the "
                                             "threshold calibrated with the models "
                                             "(models/demographics.json)")
    kiosk_link_window_s: float = rule(15.0, min=1, max=600)

    def __post_init__(self):
        ids = [c.id for c in self.cameras]
        for i, camera_id in enumerate(ids):
            if camera_id in ids[:i]:
                raise ConfigError(f"vision.cameras[{i}].id", f"duplicate camera id {camera_id!r}")
        for kind in ("lines", "zones"):
            owner: dict[str, str] = {}
            for i, camera in enumerate(self.cameras):
                for j, item in enumerate(getattr(camera, kind)):
                    if item.name in owner:
                        raise ConfigError(
                            f"vision.cameras[{i}].{kind}[{j}].name",
                            f"{item.name!r} is already a {kind[:-1]} of camera "
                            f"{owner[item.name]!r}: names are unique across cameras (the "
                            f"station counts and reports by name)")
                    owner[item.name] = camera.id
        kiosk = [i for i, c in enumerate(self.cameras) if c.kiosk_zone]
        if len(kiosk) > 1:
            raise ConfigError(f"vision.cameras[{kiosk[1]}].kiosk_zone",
                              f"camera {self.cameras[kiosk[0]].id!r} already watches the kiosk; "
                              f"a station has one kiosk, so one camera has a kiosk zone")
        if self.detector_input and (len(self.detector_input) != 2
                                    or any(not 64 <= v <= 4096 for v in self.detector_input)):
            raise ConfigError("vision.detector_input",
                              f"must be [width, height] in pixels (64..4096), got {self.detector_input!r}")
        if 0 < self.gender_min_confidence < 0.5:
            raise ConfigError("vision.gender_min_confidence",
                              f"must be 0 (calibrated) or 0.5..1, got {self.gender_min_confidence}")

    def camera(self, camera_id: str) -> Camera:
        """The camera with this id; KeyError naming the ids there are."""
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(f"no camera {camera_id!r} in [vision]; the cameras are "
                       f"{[c.id for c in self.cameras]}")

    @property
    def lines(self) -> list[Line]:
        """Every camera's lines (names are unique across cameras)."""
        return [line for camera in self.cameras for line in camera.lines]

    @property
    def zones(self) -> list[Zone]:
        return [zone for camera in self.cameras for zone in camera.zones]

    @property
    def entrance_lines(self) -> list[str]:
        """The lines whose 'in' crossings are store entries, over all cameras."""
        return [line.name for line in self.lines if line.entrance]

    @property
    def kiosk_zone(self) -> str:
        """The zone in front of the kiosk, on whichever camera watches it ('' = none)."""
        return next((c.kiosk_zone for c in self.cameras if c.kiosk_zone), "")


def camera_kind(uri: str) -> str:
    """'none', 'device' (an index), 'url' (rtsp://, http://) or 'file'."""
    if not uri:
        return "none"
    if uri.isdigit():
        return "device"
    if re.match(r"^[a-z][a-z0-9+.-]*://", uri):
        return "url"
    return "file"


@dataclass(frozen=True)
class BrokerLink:
    """How to reach the MQTT broker: the part a station's [sync] and HQ's [hq] share."""
    broker_host: str = rule("127.0.0.1")
    broker_port: int = rule(1883, min=1, max=65535)
    tls: bool = rule(False)
    ca_file: Path | None = rule(None, path=True)
    cert_file: Path | None = rule(None, path=True)
    key_file: Path | None = rule(None, path=True)
    credentials_file: Path | None = rule(None, path=True,
                                          doc="TOML with username/password, mode 0600")
    allow_plaintext_credentials: bool = rule(False)
    topic_prefix: str = rule("cx/v1", pattern=r"^[^#+\s]+[^/#+\s]$")
    keepalive_s: int = rule(30, min=5, max=3600)


@dataclass(frozen=True)
class SyncSection(BrokerLink):
    enabled: bool = rule(True)
    mqtt_version: str = rule("3.1.1", choices=("3.1.1", "5"))
    inflight: int = rule(256, min=1, max=20_000)
    batch_max_events: int = rule(500, min=1, max=50_000)
    batch_max_bytes: int = rule(256 * 1024, min=1024, max=16 * 1024 * 1024)
    batch_threshold: int = rule(1000, min=0, doc="backlog above which events travel in batches")
    hq_name: str = rule("hq", pattern=ID_PATTERN,
                         doc="the HQ this station trusts: acks naming another HQ are ignored")
    ack_timeout_s: float = rule(30.0, min=1, max=3600,
                                 doc="resend from HQ's mark when it stops advancing this long")
    health_interval_s: float = rule(60.0, min=1, max=86400)


@dataclass(frozen=True)
class HqSection:
    """HQ has its own config file (hq/config.py); a box that is its own HQ (a demo, a single
    shop) names it here so that `cx-station run` starts the receiver too."""
    enabled: bool = rule(False, doc="also run an HQ receiver on this box")
    config: Path | None = rule(None, path=True, doc="the HQ's own TOML file")
    web: bool = rule(False, doc="with enabled: also run the HQ dashboard (cx-hq serve, [web] "
                                "in the HQ's own file)")

    def __post_init__(self):
        if self.enabled and self.config is None:
            raise ConfigError("hq.config", "is required when hq.enabled is true (the HQ's "
                                           "own TOML file, e.g. config/hq.example.toml)")


@dataclass(frozen=True)
class BrokerSection:
    managed: bool = rule(False, doc="`cx-station run` starts its own local mosquitto")
    port: int = rule(1883, min=1, max=65535)
    data_dir: Path = rule(Path("/var/lib/cx-station/mosquitto"), path=True)
    max_queued_messages: int = rule(1_000_000, min=0)


@dataclass(frozen=True)
class RetentionSection:
    raw_vision_days: float = rule(30.0, min=0.01, max=3650)
    rollup_days: float = rule(800.0, min=1, max=36500)
    acked_outbox_days: float = rule(7.0, min=0, max=3650)
    comment_days: float = rule(90.0, min=1, max=3650,
                               doc="shoppers' free-text comments (in responses, cases and "
                                   "detractor alerts) are blanked after this many days; the "
                                   "scores and reasons stay")
    complaint_contact_days: float = rule(30.0, min=1, max=3650,
                                         doc="a complaint's contact details (name, phone or "
                                             "e-mail) are deleted after this many days; the "
                                             "complaint itself stays")

    def __post_init__(self):
        if self.complaint_contact_days > self.comment_days:
            raise ConfigError("retention.complaint_contact_days",
                              f"{self.complaint_contact_days:g} is longer than "
                              f"retention.comment_days ({self.comment_days:g}): contact "
                              f"details are kept for a shorter time than comments")


@dataclass(frozen=True)
class PosSection:
    """Point-of-sale counts for conversion (station/pos.py)."""
    watch_dir: Path | None = rule(None, path=True,
                                  doc="a folder a nightly POS export is dropped in: cx-watch "
                                      "imports each file, then moves it to imported/ or, with "
                                      "the error, to rejected/")


@dataclass(frozen=True)
class PrivacySection:
    min_n: int = rule(30, min=1, max=100_000, doc="hide NPS below this many responses")
    k_floor: int = rule(5, min=1, max=1000, doc="suppress demographic cells below k visitors")


@dataclass(frozen=True)
class TargetSetting:
    value: float = rule(doc="the figure to reach, in the KPI's own unit")
    direction: str | None = rule(None, choices=DIRECTIONS,
                                 doc="'higher' or 'lower' is better; default: the KPI's own "
                                     "(lower for complaint_rate and handling_median_s)")
    period: str = rule("week", choices=PERIODS, doc="judged over a week or a month")


@dataclass(frozen=True)
class TargetsSection:
    """Default targets; the store keeps the current ones (an admin or HQ may change them)."""
    nps: TargetSetting | None = rule(None)
    csat: TargetSetting | None = rule(None)
    ces: TargetSetting | None = rule(None)
    participation_rate: TargetSetting | None = rule(None)
    complaint_rate: TargetSetting | None = rule(None)
    handling_median_s: TargetSetting | None = rule(None)
    conversion: TargetSetting | None = rule(None)

    def __post_init__(self):
        for kpi in TARGET_KPIS:
            try:
                self.target(kpi)
            except ValueError as exc:
                raise ConfigError(f"targets.{kpi}.value", str(exc)) from None

    def target(self, kpi: str) -> Target | None:
        """The configured target on `kpi`, its direction resolved (set, or the KPI's own)."""
        setting = getattr(self, kpi)
        if setting is None:
            return None
        return Target(kpi, setting.value, setting.direction or TARGET_KPIS[kpi].direction,
                      setting.period)

    def targets(self) -> list[Target]:
        return [t for t in map(self.target, TARGET_KPIS) if t is not None]


@dataclass(frozen=True)
class AlertsSection:
    """The alert rules (station/alerts), each off at 0 or false, and where alerts go besides the
    admin screen and HQ. cx-watch evaluates all but the detractor rule."""
    enabled: bool = rule(True, doc="run cx-watch, which evaluates the timed rules")
    detractor: bool = rule(True, doc="an alert for every detractor answer (score 0-6)")
    kpi: bool = rule(True, doc="an alert when a KPI's whole 95 % interval misses its target")
    kpi_every_s: float = rule(300.0, min=10, max=86400, doc="how often KPIs are checked")
    camera_no_frame_s: float = rule(60.0, min=0, max=86400,
                                    doc="alert when the camera gave no frame this long; 0 = off")
    camera_min_fps: float = rule(2.0, min=0, max=120,
                                 doc="alert when the camera runs under this many frames/s; 0 = off")
    sync_ack_age_min: float = rule(30.0, min=0, max=100_000,
                                   doc="alert when events wait and HQ acknowledged nothing for "
                                       "this many minutes; 0 = off")
    disk_free_min_mb: float = rule(500.0, min=0, doc="alert when the database's disk has less "
                                                     "free space; 0 = off")
    db_write_errors: bool = rule(True, doc="alert when a service could not write the database")
    kiosk_quiet_hours: float = rule(2.0, min=0, max=24,
                                    doc="alert when the kiosk got no answer for this many hours "
                                        "while the camera counted entries; 0 = off")
    kiosk_quiet_min_entries: int = rule(20, min=1,
                                        doc="entries in those hours that make the silence odd")
    clear_after_s: float = rule(600.0, min=0, max=86400,
                                doc="a camera, sync or disk alert resolves itself only after "
                                    "its condition stayed clear this long (no flapping)")
    interval_s: float = rule(5.0, min=0.5, max=3600, doc="how often cx-watch looks")
    command: list[str] = rule([], doc="argv run per alert with the alert as JSON on stdin, "
                                      "e.g. a script posting to a chat webhook; [] = none")
    command_timeout_s: float = rule(10.0, min=0.1, max=600)
    command_on: list[str] = rule(["open"], choices=("open", "acknowledged", "resolved"),
                                 doc="which alert changes run the command")
    sound: bool = rule(False, doc="the admin screen beeps when a new alert or case comes in")


@dataclass(frozen=True)
class LoggingSection:
    level: str = rule("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


@dataclass(frozen=True)
class Config:
    station: StationSection
    database: DatabaseSection
    kiosk: KioskSection = rule(KioskSection())
    vision: VisionSection = rule(VisionSection())
    sync: SyncSection = rule(SyncSection())
    hq: HqSection = rule(HqSection())
    broker: BrokerSection = rule(BrokerSection())
    retention: RetentionSection = rule(RetentionSection())
    pos: PosSection = rule(PosSection())
    privacy: PrivacySection = rule(PrivacySection())
    targets: TargetsSection = rule(TargetsSection())
    alerts: AlertsSection = rule(AlertsSection())
    logging: LoggingSection = rule(LoggingSection())
    source: Path | None = None   # the file this came from (not a TOML key)

    def __post_init__(self):
        time_zone(self.station.timezone, "station.timezone")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.station.timezone)


def time_zone(name: str, key: str) -> ZoneInfo:
    """The IANA time zone `name`, or a ConfigError naming `key`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, f"unknown time zone {name!r}; use an IANA name such as "
                               f"'Asia/Ho_Chi_Minh' or 'UTC'") from None


def load_config(path: str | Path) -> Config:
    """Read and validate one station TOML file; raises ConfigError naming the key."""
    path = Path(path)
    config = parse_config(read_toml(path), base_dir=path.resolve().parent)
    return dataclasses.replace(config, source=path.resolve())


def load_typed(path: str | Path, cls):
    """Read one TOML file into the frozen dataclass `cls` by the same rules as a station's
    config (HQ's config uses it); raises ConfigError naming the key."""
    path = Path(path)
    config = _resolve_defaults(_build(cls, read_toml(path), "", path.resolve().parent),
                               path.resolve().parent)
    return dataclasses.replace(config, source=path.resolve())


def read_toml(path: Path) -> dict:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("<file>", f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("<file>", f"{path} is not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("<file>", f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:          # a directory, no permission, an I/O error
        raise ConfigError("<file>", f"{path} cannot be read: {exc.strerror or exc}") from None
    return raw


def parse_config(raw: dict, base_dir: Path) -> Config:
    vision = raw.get("vision")
    single = isinstance(vision, dict) and "cameras" not in vision
    if single:
        raw = {**raw, "vision": _one_camera(vision)}
    elif isinstance(vision, dict):
        for key in sorted(set(vision) & set(CAMERA_KEYS)):
            raise ConfigError(f"vision.{key}", f"with [[vision.cameras]] each camera has its "
                                               f"own {CAMERA_KEYS[key]}: move it into the "
                                               f"camera's [[vision.cameras]] table")
    try:
        config = _resolve_defaults(_build(Config, raw, "", base_dir), base_dir)
    except ConfigError as exc:
        if single and exc.path.startswith("vision.cameras[0]"):
            raise ConfigError(_single_camera_key(exc.path), exc.message) from None
        if single and exc.message.startswith("unknown key") and exc.path.count(".") == 1 \
                and exc.path.startswith("vision."):
            # the keys of the form the file is in, not of the cameras form it was read as
            keys = {f.name for f in dataclasses.fields(VisionSection)} - {"cameras"}
            raise ConfigError(exc.path, "unknown key; allowed keys here: "
                                        + ", ".join(sorted(keys | set(CAMERA_KEYS)))) from None
        raise
    cameras = [dataclasses.replace(c, source=os.path.normpath(base_dir / Path(c.source)))
               if c.kind == "file" and not Path(c.source).expanduser().is_absolute() else c
               for c in config.vision.cameras]
    return dataclasses.replace(config, vision=dataclasses.replace(config.vision, cameras=cameras))


def _one_camera(vision: dict) -> dict:
    """The old single-camera [vision] table as the cameras form: its camera keys become the
    camera "main" (so every config written before several cameras still loads)."""
    camera = {"id": "main"}
    camera.update({CAMERA_KEYS[k]: v for k, v in vision.items() if k in CAMERA_KEYS})
    return {**{k: v for k, v in vision.items() if k not in CAMERA_KEYS}, "cameras": [camera]}


def _single_camera_key(path: str) -> str:
    """An error inside the camera made by `_one_camera`, named by the key the file has."""
    rest = path[len("vision.cameras[0]"):].lstrip(".")
    renamed = {v: k for k, v in CAMERA_KEYS.items()}
    head, sep, tail = rest.partition(".")
    base, bracket, index = head.partition("[")
    return "vision." + renamed.get(base, base) + bracket + index + sep + tail if rest else "vision"


def _build(cls, raw: Any, path: str, base_dir: Path):
    if not isinstance(raw, dict):
        raise ConfigError(path or "<root>", f"must be a table, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    # `source` without rules is the file a config came from, not a key (a camera's has rules)
    fields = {f.name: f for f in dataclasses.fields(cls)
              if f.name != "source" or f.metadata}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = _join(path, unknown[0])
        raise ConfigError(key, f"unknown key; allowed keys here: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = _join(path, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(key, "is required" + (f" ({f.metadata['doc']})"
                                                        if f.metadata.get("doc") else ""))
            continue
        values[name] = _convert(hints[name], raw[name], key, f.metadata, base_dir)
    try:
        return cls(**values)
    except ConfigError as exc:
        # List items (lines, zones) check themselves with paths relative to the item.
        if path and not exc.path.startswith(path):
            raise ConfigError(_join(path, exc.path), exc.message) from None
        raise


def _convert(hint, value, key: str, meta, base_dir: Path):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value, key, meta, base_dir)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key, base_dir)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list, got {_show(value)}")
        (item,) = typing.get_args(hint)
        return [_convert(item, v, f"{key}[{i}]", meta, base_dir) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {_show(value)}")
        return value
    if hint in (int, float):
        ok = isinstance(value, int) if hint is int else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise ConfigError(key, f"must be {'an integer' if hint is int else 'a number'}, "
                                   f"got {_show(value)}")
        value = hint(value)
        if value != value:      # TOML allows nan, and nan passes every range comparison
            raise ConfigError(key, "must be a number, got nan")
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(key, f"{value} is out of range; allowed "
                                   f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {_show(value)}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(key, f"{value!r} is not allowed; choose one of {list(meta['choices'])}")
        if meta.get("pattern") and not re.match(meta["pattern"], value):
            raise ConfigError(key, f"{value!r} has the wrong form" +
                              (f": {meta['doc']}" if meta.get("doc") else f" (expected {meta['pattern']})"))
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(key, f"must be a non-empty path string, got {_show(value)}")
        p = Path(value).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else base_dir / p))
    raise TypeError(f"config type {hint!r} at {key} is not supported")  # programming error


def _resolve_defaults(obj, base_dir: Path):
    """Relative default paths (e.g. broker.data_dir) are relative to the config file too."""
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            changes[f.name] = _resolve_defaults(value, base_dir)
        elif isinstance(value, Path) and not value.is_absolute():
            changes[f.name] = Path(os.path.normpath(base_dir / value))
    return dataclasses.replace(obj, **changes) if changes else obj


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"
