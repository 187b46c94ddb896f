"""HQ's own config: one typed, validated object, loaded once (the station's rules and loader).

    config = load_hq_config("config/hq.example.toml")
    config.hq.name, config.hq.broker_host, config.database.path, config.reports.min_n

A station's config never configures HQ: HQ runs elsewhere for a chain, and even a box that is
its own HQ keeps the two files apart (the station's `[hq] config` names this one).
"""
from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from station import events
from station.config import (ID_PATTERN, BrokerLink, ConfigError, LoggingSection, load_typed,
                            rule, time_zone)


@dataclass(frozen=True)
class ReceiverSection(BrokerLink):
    """[hq]: who this HQ is and how its receivers reach the broker."""
    name: str = rule("hq", pattern=ID_PATTERN,
                      doc="this HQ's name, carried in every ack; stations trust one name")
    client_id: str = rule("cx-hq", pattern=ID_PATTERN,
                           doc="each receiver process adds -<host>-<slot> to it")
    shared_group: str = rule("", pattern=r"^([a-z0-9][a-z0-9_-]{0,62})?$",
                              doc="receivers in one group split the load; default: name")
    session_expiry_s: int = rule(3600, min=60, max=30 * 86400,
                                  doc="how long the broker keeps a stopped receiver's queue")

    @property
    def group(self) -> str:
        return self.shared_group or self.name


@dataclass(frozen=True)
class HqDatabaseSection:
    """[database]: SQLite at `path` (one machine, the demo) unless `url` names PostgreSQL."""
    path: Path = rule(Path("/var/lib/cx-hq/hq.db"), path=True,
                      doc="the SQLite file, when url is empty")
    url: str = rule("", pattern=r"^((postgresql|postgres)://\S+)?$",
                    doc="postgresql://user@host/db (libpq URL; the password in ~/.pgpass or "
                        "PGPASSWORD): selects PostgreSQL, shared by several receivers")
    busy_timeout_ms: int = rule(30_000, min=100, max=600_000)

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"


# Event types HQ keeps for a set number of days ([retention]); 0 keeps them for ever. Every
# type a station may send (station/events.py TYPES) has its key: a new type needs no change here.
RETENTION_TYPES = tuple(events.TYPES)
assert "dead_letters" not in RETENTION_TYPES, "an event type may not be called dead_letters"


def _retention_days(self) -> dict[str, int]:
    """{event type: days} of the types with a limit."""
    return {t: getattr(self, t) for t in RETENTION_TYPES if getattr(self, t)}


HqRetentionSection = make_dataclass(
    "HqRetentionSection",
    [(t, int, rule(0, min=0, max=36_500, doc=f"days of {t} events (0 = keep)"))
     for t in RETENTION_TYPES]
    + [("dead_letters", int, rule(90, min=0, max=36_500, doc="days of refused messages"))],
    frozen=True, namespace={
        "__module__": __name__,
        "days": _retention_days,
        "__doc__": """[retention]: days HQ keeps each event type (0 = for ever), for `cx-hq
    prune`; one key per type of station/events.py TYPES, and dead_letters.

    Targets and alerts are state, not measurements: each station's latest one is kept
    whatever its age, so the report still knows a target set long ago."""})


@dataclass(frozen=True)
class ReportsSection:
    """How the HQ report and analyst commands read the figures."""
    path: Path = rule(Path("/var/lib/cx-hq/hq-report.html"), path=True,
                       doc="where `cx-hq report` writes its HTML without --html")
    timezone: str = rule("UTC", doc="the chain's time zone: days and hours of reports")
    min_n: int = rule(30, min=1, max=100_000, doc="hide a KPI below this many answers")
    k_floor: int = rule(5, min=1, max=1000, doc="suppress demographic cells below k visitors")


SCRYPT_HASH = r"^scrypt\$\d+\$\d+\$\d+\$[0-9a-f]+\$[0-9a-f]+$"


@dataclass(frozen=True)
class WebUser:
    """One [[web.users]] entry: who may log in to `cx-hq serve`, and what they may do."""
    username: str = rule(pattern=ID_PATTERN, doc="lower case, digits, - or _")
    password_hash: str = rule(pattern=SCRYPT_HASH, doc="from `cx-hq passwd`")
    role: str = rule("analyst", choices=("analyst", "admin"),
                     doc="analyst reads; admin also pushes settings to stations")


@dataclass(frozen=True)
class WebSection:
    """[web]: the live dashboard `cx-hq serve`. Loopback by default: TLS and the outside
    world go through a reverse proxy (hq/README.md)."""
    host: str = rule("127.0.0.1", doc="the address to bind; keep loopback behind a proxy")
    port: int = rule(8470, min=1, max=65535)
    users: list[WebUser] = rule([])
    session_lifetime_s: int = rule(8 * 3600, min=60, max=30 * 86400,
                                   doc="a login lasts this long, then the user logs in again")
    lockout_failures: int = rule(5, min=1, max=1000,
                                 doc="this many wrong passwords in a row lock the username "
                                     "and the client address")
    lockout_minutes: float = rule(15.0, min=0.1, max=7 * 1440)
    cookie_secure: bool = rule(False, doc="true behind TLS: the browser sends the session "
                                          "cookie over HTTPS only")
    refresh_s: int = rule(15, min=2, max=3600, doc="how often open pages refresh their figures")
    period_days: int = rule(28, min=1, max=366, doc="the period of the stores and chain pages")
    demo_login_file: Path | None = rule(
        None, path=True, doc="demo only: with no [[web.users]], `cx-hq serve` logs in the admin "
                             "'demo' with a password made on its first start, kept in this "
                             "file (mode 0600) and printed once")

    def __post_init__(self):
        seen = set()
        for i, user in enumerate(self.users):
            if user.username in seen:
                raise ConfigError(f"web.users[{i}].username",
                                  f"{user.username!r} is listed twice")
            seen.add(user.username)


@dataclass(frozen=True)
class HqConfig:
    hq: ReceiverSection = rule(ReceiverSection())
    database: HqDatabaseSection = rule(HqDatabaseSection())
    reports: ReportsSection = rule(ReportsSection())
    retention: HqRetentionSection = rule(HqRetentionSection())
    web: WebSection = rule(WebSection())
    logging: LoggingSection = rule(LoggingSection())
    source: Path | None = None   # the file this came from (not a TOML key)

    def __post_init__(self):
        time_zone(self.reports.timezone, "reports.timezone")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.reports.timezone)


def load_hq_config(path: str | Path) -> HqConfig:
    """Read and validate HQ's TOML file; raises ConfigError naming the key."""
    return load_typed(path, HqConfig)
