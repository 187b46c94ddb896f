"""cx-hq: the headquarters side.

    cx-hq run --config hq.toml          # receive every station's events into the HQ database
    cx-hq stats --config hq.toml [--json]
    cx-hq export --config hq.toml --type response --format csv
    cx-hq report --config hq.toml --html report.html
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

ANALYST_COMMANDS = ("sync.hq.stats", "sync.hq.export", "sync.hq.report")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="receive events from all stations until stopped (SIGTERM)")
    run.add_argument("--config", required=True, help="TOML file with an [hq] section")
    run.set_defaults(func=run_receiver)
    for name in ANALYST_COMMANDS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def run_receiver(args) -> int:
    from station.service import run_service
    from sync.hq.db import HqDbError
    from sync.hq.receiver import InstanceTaken, Receiver
    from sync.mqtt import SecurityError
    return run_service("cx-hq", args.config, build=Receiver,
                       errors=(HqDbError, SecurityError, InstanceTaken))


if __name__ == "__main__":
    sys.exit(main())
