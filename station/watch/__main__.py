"""cx-watch: the station's alert rules on a timer, and the local alert hook.

    cx-watch run --config /etc/cx-station/station.toml
"""
from __future__ import annotations

import argparse
import sys

from station.service import run_service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-watch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate the alert rules until stopped (SIGTERM)")
    run.add_argument("--config", required=True, help="station TOML file")
    args = parser.parse_args(argv)
    from station.store import Store, StoreError
    from station.watch import WatchService
    return run_service("cx-watch", args.config, errors=(StoreError,),
                       build=lambda config: WatchService(config, Store.open(config)))


if __name__ == "__main__":
    sys.exit(main())
