"""The live one-line status `cx-station run` prints: camera fps, entries, responses, backlog."""
from __future__ import annotations

import sys
import time
from datetime import datetime


class StatusLine:
    def __init__(self, store, config, every_s: float = 2.0, out=sys.stdout):
        self.store, self.config, self.every_s, self.out = store, config, every_s, out
        self._last = 0.0
        self.interactive = out.isatty()

    def text(self, now: float) -> str:
        day = datetime.fromtimestamp(now, self.config.tz).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0).timestamp()
        entries = self.store.entries(day, now + 1, self.config.vision.entrance_lines)["entries"]
        responses = self.store.response_totals(day, now + 1)["responses"]
        outbox = self.store.outbox_status()
        health = self.store.camera_health()
        ids = [c.id for c in self.config.vision.cameras]
        cameras = [_camera(health.get(i, {}), now) for i in ids]
        if len(ids) != 1:
            cameras = [f"{i} {state}" for i, state in zip(ids, cameras)]
        return (f"camera {', '.join(cameras) or 'none'} | today: {entries} entries, "
                f"{responses} responses | "
                f"sync backlog {outbox['pending']}, HQ acked up to {outbox['last_acked_seq'] or 0}")

    def tick(self) -> None:
        now = time.time()
        interval = self.every_s if self.interactive else max(self.every_s, 30.0)
        if now - self._last < interval:
            return
        self._last = now
        try:
            line = self.text(now)
        except Exception as exc:          # status must never take the supervisor down
            line = f"status unavailable: {exc}"
        if self.interactive:
            self.out.write("\r" + line[:160].ljust(160))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _camera(vision: dict, now: float) -> str:
    fps, last = vision.get("fps"), vision.get("last_frame")
    if isinstance(last, (int, float)) and now - last > 10:
        return f"silent {now - last:.0f} s"
    return f"{fps:.1f} fps" if isinstance(fps, (int, float)) else "no camera"
