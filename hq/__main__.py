"""cx-hq: the headquarters side.

    cx-hq run --config hq.toml          # receive every station's events into the HQ database
    cx-hq stats --config hq.toml [--json]
    cx-hq export --config hq.toml --type response --format csv
    cx-hq report --config hq.toml --html report.html
    cx-hq prune --config hq.toml        # [retention]: delete events past their days
    cx-hq push --config hq.toml (--station S | --store S | --all) --file settings.toml
    cx-hq serve --config hq.toml         # the live web dashboard (cx-hq passwd for its users)
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

ANALYST_COMMANDS = ("hq.stats", "hq.export", "hq.report", "hq.prune", "hq.web.cli")
ADMIN_COMMANDS = ("hq.push",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="receive events from all stations until stopped (SIGTERM)")
    run.add_argument("--config", required=True, help="the HQ's TOML file (config/hq.example.toml)")
    run.set_defaults(func=run_receiver)
    for name in ANALYST_COMMANDS + ADMIN_COMMANDS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def run_receiver(args) -> int:
    from hq.config import load_hq_config
    from hq.db import HqDbError
    from hq.receiver import InstanceTaken, Receiver
    from station.service import run_service
    from sync.mqtt import SecurityError
    return run_service("cx-hq", args.config, build=Receiver,
                       errors=(HqDbError, SecurityError, InstanceTaken), load=load_hq_config)


if __name__ == "__main__":
    sys.exit(main())
