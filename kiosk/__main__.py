"""`cx-kiosk --config F [--screenshot DIR]`: the touchscreen survey and the manager dashboard.

    cx-kiosk --config config/demo.toml                       # run the kiosk
    cx-kiosk --config config/demo.toml --screenshot out/     # every screen, language, size: PNG

This module only reads the command line; the kiosk process is ``kiosk/service.py``.
"""
from __future__ import annotations

import argparse
import sys

from kiosk import service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-kiosk", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="station TOML file")
    parser.add_argument("--screenshot", metavar="DIR",
                        help="render every screen in every language to PNGs in DIR and exit")
    parser.add_argument("--size", default=None,
                        help="window size(s) for --screenshot, e.g. 1280x800 or "
                             "1920x1080,1080x1920 (default: 1920x1080, 1280x800 and 1080x1920)")
    args = parser.parse_args(argv)
    started = service.start(args.config, offscreen=bool(args.screenshot))
    if started is None:
        return 2
    config, app = started
    if args.screenshot:
        from kiosk.screenshots import SIZES, render_all
        sizes = ([tuple(int(v) for v in s.split("x")) for s in args.size.split(",")]
                 if args.size else SIZES)
        for path in render_all(config, args.screenshot, sizes):
            print(path)
        return 0
    return service.run(config, app)


if __name__ == "__main__":
    sys.exit(main())
