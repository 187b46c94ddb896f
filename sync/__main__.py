"""cx-sync: the station's store-and-forward service.

    cx-sync run --config /etc/cx-station/station.toml
"""
from __future__ import annotations

import argparse
import sys

from station.service import run_service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-sync", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="publish the outbox to HQ until stopped (SIGTERM)")
    run.add_argument("--config", required=True, help="station TOML file")
    args = parser.parse_args(argv)
    from station.store import Store, StoreError
    from sync.mqtt import SecurityError
    from sync.station_sender import Sender
    return run_service("cx-sync", args.config, errors=(SecurityError, StoreError),
                       build=lambda config: Sender(config, Store.open(config, synchronous="NORMAL")))


if __name__ == "__main__":
    sys.exit(main())
