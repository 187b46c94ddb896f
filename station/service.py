"""What every service's `main` does first: load the one config object and set up logging.

    config = start_service("cx-kiosk", args.config)
    if config is None:
        return 2                     # the reason, naming the key, is already on stderr

or the whole life of a headless service, from signals to the end of its run loop:

    return run_service("cx-sync", args.config, build=lambda config: Sender(...),
                       errors=(SecurityError, StoreError))
"""
from __future__ import annotations

import logging
import signal
import sys
import threading

from station.config import Config, ConfigError, load_config


def start_service(prog: str, config_path, load=load_config) -> Config | None:
    """The config `load` reads (a station's by default, HQ passes its own loader)."""
    try:
        config = load(config_path)
    except ConfigError as exc:
        print(f"{prog}: bad config: {exc}", file=sys.stderr)
        return None
    logging.basicConfig(level=config.logging.level,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return config


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (systemd stop) or SIGINT (Ctrl-C): the main loop's exit flag."""
    stop = threading.Event()

    def handler(*_):
        # A handler runs in the main thread between two bytecodes, possibly inside
        # stop.wait(), which holds the lock that stop.set() takes: set it from another thread.
        threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stop


def run_service(prog: str, config_path, build, errors: tuple = (), load=load_config) -> int:
    """Signals, config, `build(config)`, then `service.run(stop)` until SIGTERM/SIGINT.

    An exception of `errors` from `build` is a start-up failure told in one line and, like a
    bad config, exits 2."""
    stop = stop_on_signals()               # first, so an early SIGTERM is a clean stop too
    config = start_service(prog, config_path, load)
    if config is None:
        return 2
    try:
        service = build(config)
    except errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    service.run(stop)
    return 0
