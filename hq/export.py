"""`cx-hq export`: one flat row per event for analysts (CSV or JSON Lines), streamed.

    cx-hq export --config hq.toml --type response --format csv --out responses.csv
    cx-hq export --config hq.toml --type visit --since 2026-11-01 --until 2026-11-30 --format jsonl

Columns: station, store, seq, event_id, ts, then the event's data fields; nested objects are
flattened with dots (`dwell.kiosk`), lists stay JSON (`["wait","staff"]`). CSV cells that a
spreadsheet would run as a formula (free text starting with = + - @) get a leading apostrophe.
Rows are read from a cursor and written one by one, so memory stays flat for any size (CSV
spools the rows to a temporary file first, because its header must name every column); with
--out the file appears only when complete (written to FILE.part, then renamed).
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from station import events
from station.period import add_period_arguments
from hq.views import open_for_reading, period_clause, quiet_broken_pipe, store_of

TYPES = tuple(events.TYPES)
LEADING = ["station", "store", "seq", "event_id", "ts"]
# Each type's fields in their contract order (station/events.py); unknown extra fields that
# newer stations send follow in alphabetical order, so nothing is silently dropped.
FIELDS = {type_: events.keys(type_) for type_ in events.TYPES}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="events as flat CSV / JSON Lines rows",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config ([database] path)")
    p.add_argument("--type", required=True, choices=TYPES)
    add_period_arguments(p)
    p.add_argument("--format", default="csv", choices=("csv", "jsonl"))
    p.add_argument("--station", help="only this station (org/store/station) or store (org/store)")
    p.add_argument("--out", help="write here instead of stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    opened = open_for_reading(args, "export")
    if opened is None:
        return 2
    config, db, since, until = opened
    try:
        if args.out:
            out = Path(args.out)
            part = out.with_name(out.name + ".part")
            with open(part, "w", encoding="utf-8", newline="") as fh:
                n = export(db, fh, args.type, args.format, since, until, args.station)
            os.replace(part, out)
            print(f"cx-hq export: {n} {args.type} rows -> {out}", file=sys.stderr)
        else:
            export(db, sys.stdout, args.type, args.format, since, until, args.station)
            sys.stdout.flush()
    except BrokenPipeError:
        return quiet_broken_pipe()
    except OSError as exc:
        print(f"cx-hq export: cannot write: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0


def export(db, fh, type_: str, fmt: str, since: float | None = None,
           until: float | None = None, station: str | None = None) -> int:
    """Write every `type_` event in the period to `fh`; returns the number of rows."""
    if type_ not in TYPES:
        raise ValueError(f"--type must be one of {', '.join(TYPES)}, got {type_!r}")
    where, params = _where(type_, since, until, station)
    n = 0
    if fmt == "jsonl":
        for row in _rows(db, where, params, type_):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
        return n
    if fmt != "csv":
        raise ValueError(f"--format must be csv or jsonl, got {fmt!r}")
    # The header must name every column, but nested fields (dwell zones) and fields that newer
    # stations add are only known once every row is read: spool the flat rows to a temporary
    # file (one pass over the database, flat memory), then write the header and the rows.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        found: dict[str, None] = {}
        shapes: set[tuple] = set()
        for row in _rows(db, where, params, type_):
            shape = tuple(row)
            if shape not in shapes:
                shapes.add(shape)
                found.update(dict.fromkeys(shape))
            spool.write(json.dumps(row, ensure_ascii=False) + "\n")
        columns = LEADING + data_columns(type_, set(found) - set(LEADING))
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        spool.seek(0)
        for line in spool:
            writer.writerow({k: _csv_cell(v) for k, v in json.loads(line).items()})
            n += 1
    return n


def data_columns(type_: str, found: set[str]) -> list[str]:
    """The flattened data columns, in the contract's order first, then any others."""
    # a field that is an object in some rows (dwell) and null in others: keep only the leaves
    parents = {c.rsplit(".", 1)[0] for c in found if "." in c}
    found = found - parents
    ordered = []
    for name in FIELDS[type_]:
        ordered += [name] if name in found else sorted(c for c in found
                                                       if c.startswith(name + "."))
    ordered += sorted(found - set(ordered))
    return ordered or list(FIELDS[type_])


def _where(type_, since, until, station):
    period, params = period_clause(since, until, "events.ts_epoch")
    where = f"events.type = ? AND {period}"
    params = [type_] + params
    if station:
        where += " AND (events.station = ? OR events.station LIKE ? ESCAPE '\\')"
        params += [station, _like_prefix(station) + "/%"]
    return where, params


def _rows(db, where, params, type_: str | None = None):
    order = {key: i for i, key in enumerate(FIELDS.get(type_, ()))}
    # data_text: the station's exact JSON where `data` had to be made storable (hq/db.py)
    cursor = db.execute(f"SELECT station, seq, id, ts, coalesce(data_text, CAST(data AS TEXT)) "
                        f"FROM events WHERE {where} ORDER BY station, seq", params)
    for station, seq, event_id, ts, data in cursor:
        row = {"station": station, "store": store_of(station), "seq": seq,
               "event_id": event_id, "ts": ts}
        try:
            payload = _ordered(json.loads(data), order)
        except (TypeError, ValueError):
            payload = {"_unparsed": data}
        _flatten(payload, "", row)
        yield row


def _ordered(value, order: dict | None = None):
    """The data's keys in the contract's order, then the others sorted (nested objects sorted):
    one order whatever the database kept (PostgreSQL's jsonb keeps its own)."""
    if not isinstance(value, dict):
        return value
    rank = order or {}
    keys = sorted(value, key=lambda k: (rank.get(k, len(rank)), k))
    return {k: _ordered(value[k]) for k in keys}


def _flatten(value, prefix: str, out: dict) -> None:
    if isinstance(value, dict):          # an empty one (no dwell zones) adds no column
        for key, inner in value.items():
            _flatten(inner, f"{prefix}{key}" if not prefix else f"{prefix}.{key}", out)
    else:
        out[prefix] = value


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export_to_string(db, type_: str, fmt: str, **kwargs) -> str:
    """For tests and notebooks: the export as one string."""
    buffer = io.StringIO(newline="")
    export(db, buffer, type_, fmt, **kwargs)
    return buffer.getvalue()
