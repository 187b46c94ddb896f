"""Point-of-sale counts from a CSV export, per hour: the numerator of conversion.

    hours = read_pos_csv(Path("sales.csv"), config.tz)     # PosFileError names line and column
    store.import_pos(hours, source="sales.csv")              # re-importing replaces, never doubles

The file is what a till's nightly export gives, with a header row:

    hour,transactions,revenue                  one row per hour (revenue optional)
    2026-12-05 09:00,14,3250000
    2026-12-05 10,21,

    timestamp,transactions                     or one row per sale (transactions optional: 1)
    2026-12-05T09:14:03+07:00,1

Times without an offset are the station's local time ([station] timezone). Rows of one hour
are added up; the file's hours then replace what the store held for those hours, so a corrected
export imported again fixes the figures instead of doubling them. Any bad row refuses the whole
file, naming its line and column: a half-imported day would be a wrong conversion.

A watched folder ([pos] watch_dir) takes a nightly export dropped there: cx-watch's loop calls
`PosFolder.scan`, which imports each file (the same rules: a file imported twice replaces its
hours, never doubles them) and moves it to `imported/`, or, refused, to `rejected/` with a
`<name>.error.txt` beside it naming the line and column; the last result is in the health
table (component 'pos') for the admin screen and cx-station status.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

MAX_BYTES = 50 * 1024 * 1024          # a year of per-sale rows of a busy store is far less
SETTLE_S = 5.0                        # a file changed this recently may still be being written

log = logging.getLogger("station.pos")


class PosFileError(ValueError):
    """A POS file that cannot be imported; `line` is 1-based (the header is line 1)."""

    def __init__(self, source: str, line: int | None, column: str | None, message: str):
        self.source, self.line, self.column, self.message = source, line, column, message
        where = source + (f":{line}" if line else "") + (f": column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class PosHour:
    hour: float                 # epoch seconds at the hour's start
    transactions: int
    revenue: float | None       # None: the file gave no revenue for that hour


def read_pos_csv(path: Path, tz: ZoneInfo) -> list[PosHour]:
    """The hours of a POS CSV file, or PosFileError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise PosFileError(path.name, None, None, f"{size} bytes is too big for a POS "
                                                      f"export (at most {MAX_BYTES})")
        raw = path.read_bytes()
    except OSError as exc:
        raise PosFileError(path.name, None, None, f"cannot read it: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")      # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise PosFileError(path.name, line, None, "is not UTF-8 text") from None
    return parse_pos_csv(text, tz, path.name)


def parse_pos_csv(text: str, tz: ZoneInfo, source: str = "<pos>") -> list[PosHour]:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except StopIteration:
        raise PosFileError(source, None, None, "is empty (expected a header row such as "
                                               "'hour,transactions,revenue')") from None
    except csv.Error as exc:
        raise PosFileError(source, 1, None, f"is not CSV: {exc}") from None
    names = [h.strip().lower() for h in header]
    time_column = "hour" if "hour" in names else "timestamp" if "timestamp" in names else None
    if time_column is None:
        raise PosFileError(source, 1, None, f"the header {header!r} has neither an 'hour' nor a "
                                            f"'timestamp' column")
    if time_column == "hour" and "transactions" not in names:
        raise PosFileError(source, 1, None, "an 'hour' file needs a 'transactions' column")
    unknown = set(names) - {"hour", "timestamp", "transactions", "revenue"}
    if unknown or len(set(names)) != len(names):
        raise PosFileError(source, 1, None, f"unexpected or repeated columns in {header!r}; "
                                            f"allowed: hour or timestamp, transactions, revenue")
    index = {name: i for i, name in enumerate(names)}
    hours: dict[float, list] = {}
    try:
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue                                    # blank lines, trailing newline
            if len(row) != len(names):
                raise PosFileError(source, line, None, f"has {len(row)} fields, the header "
                                                       f"{len(names)}")
            cell = {name: row[i].strip() for name, i in index.items()}
            hour = _hour(cell[time_column], tz, time_column == "hour", source, line,
                         time_column)
            count = _count(cell.get("transactions", ""), time_column == "timestamp", source,
                           line)
            revenue = _revenue(cell.get("revenue", ""), source, line)
            total = hours.setdefault(hour, [0, None])
            total[0] += count
            if revenue is not None:
                total[1] = (total[1] or 0.0) + revenue
    except csv.Error as exc:
        raise PosFileError(source, rows.line_num, None, f"is not CSV: {exc}") from None
    if not hours:
        raise PosFileError(source, None, None, "has a header but no rows")
    return [PosHour(h, n, r) for h, (n, r) in sorted(hours.items())]


def _hour(text: str, tz: ZoneInfo, whole_hour: bool, source: str, line: int,
          column: str) -> float:
    candidate = text.replace("T", " ")
    if whole_hour and len(candidate) == 13:        # '2026-12-05 09'
        candidate += ":00"
    try:
        when = datetime.fromisoformat(candidate)
    except ValueError:
        raise PosFileError(source, line, column, f"{text!r} is not a date and time such as "
                                                 f"'2026-12-05 09:00'") from None
    if whole_hour and (when.minute or when.second or when.microsecond):
        raise PosFileError(source, line, column, f"{text!r} is not the start of an hour")
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    if not 2000 <= when.year <= 2100:
        raise PosFileError(source, line, column, f"{text!r} is out of range (2000-2100)")
    epoch = when.astimezone(timezone.utc).timestamp()
    # the local hour's start: a zone at a half-hour offset starts its hours off UTC's
    offset = when.astimezone(tz).utcoffset().total_seconds()
    return math.floor((epoch + offset) / 3600) * 3600 - offset


def _count(text: str, default_one: bool, source: str, line: int) -> int:
    if not text and default_one:
        return 1
    if not text.isdigit() or len(text) > 7:
        raise PosFileError(source, line, "transactions", f"{text!r} is not a whole number of "
                                                         f"transactions (0 to 9999999)")
    return int(text)


def _revenue(text: str, source: str, line: int) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0 or value > 1e13:
        raise PosFileError(source, line, "revenue", f"{text!r} is not an amount (a plain "
                                                    f"number such as 3250000 or 12.50)")
    return value


class PosFolder:
    """The watched folder of [pos] watch_dir (see the module's docstring)."""

    def __init__(self, folder: Path, tz: ZoneInfo, settle_s: float = SETTLE_S):
        self.folder, self.tz, self.settle_s = Path(folder), tz, settle_s
        self.imported, self.rejected = self.folder / "imported", self.folder / "rejected"

    def pending(self, now: float) -> list[Path]:
        """Files waiting in the folder, oldest first; ones still being written wait."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_file()
                       and not p.name.startswith(".") and now - p.stat().st_mtime >= self.settle_s]
        except FileNotFoundError:
            return []
        return sorted(entries, key=lambda p: (p.stat().st_mtime, p.name))

    def scan(self, store, now: float | None = None) -> list[dict]:
        """Import every settled file; returns one result per file handled."""
        now = time.time() if now is None else now
        results = []
        for path in self.pending(now):
            try:
                hours = read_pos_csv(path, self.tz)
                counts = store.import_pos(hours, source=path.name, at=now)
            except PosFileError as exc:
                moved = _move(path, self.rejected, now)
                moved.with_name(moved.name + ".error.txt").write_text(str(exc) + "\n",
                                                                      encoding="utf-8")
                log.error("POS file rejected, nothing imported (moved to %s): %s", moved, exc)
                results.append({"file": path.name, "status": "rejected", "error": str(exc),
                                "line": exc.line, "column": exc.column, "moved_to": str(moved)})
                continue
            moved = _move(path, self.imported, now)
            log.info("POS file %s imported: %s hours new, %s replaced, %s unchanged",
                     path.name, counts["new"], counts["replaced"], counts["unchanged"])
            results.append({"file": path.name, "status": "imported", "hours": len(hours),
                            **counts, "moved_to": str(moved)})
        if results:
            last = results[-1]
            health = store.health().get("pos", {})
            store.put_health("pos", {
                "watch_dir": str(self.folder), "last_file": last["file"],
                "last_status": last["status"], "last_at": now,
                "last_error": last.get("error") if last["status"] == "rejected" else None,
                "imported": health.get("imported", 0) + sum(
                    r["status"] == "imported" for r in results),
                "rejected": health.get("rejected", 0) + sum(
                    r["status"] == "rejected" for r in results)}, ts=now)
        return results


def _move(path: Path, folder: Path, now: float) -> Path:
    """`path` moved into `folder`; a name already there gets the time added, never replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = datetime.fromtimestamp(now).strftime("%Y%m%dT%H%M%S")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    os.replace(path, target)
    return target
