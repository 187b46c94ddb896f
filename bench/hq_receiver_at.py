"""`cx-hq run` with the HQ database at a chosen synchronous level, for bench/sync_backlog.py.

    python -m bench.hq_receiver_at run --config hq.toml NORMAL

cx-hq itself always commits at synchronous=FULL (an ack must mean the event is on disk); this
exists only to measure what that costs against NORMAL, in the same run, on the same machine.
"""
from __future__ import annotations

import sys

from hq.config import load_hq_config
from hq.db import HqDb
from hq.receiver import Receiver
from station.service import run_service


def main(argv: list[str]) -> int:
    _run, _flag, config_path, synchronous = argv
    return run_service("cx-hq-bench", config_path, load=load_hq_config,
                       build=lambda config: Receiver(config, db=HqDb.open(
                           config.database.path, synchronous=synchronous)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
