"""A virtual X screen (Xvfb) and a finger on it (xdotool), for driving the real kiosk window.

    with VirtualDisplay() as display:             # Xvfb on a free display number, 1920x1080x24
        env = {**os.environ, **display.env()}     # DISPLAY=:N, QT_QPA_PLATFORM=xcb
        ...                                       # Xvfb is killed on the way out

    finger = Finger()                             # inside a process whose DISPLAY is that screen
    finger.tap(640, 400)                          # one xdotool: move there, press, release
    finger.taps([(100, 700), (160, 700)])         # several taps in one xdotool run (typing)
    finger.long_press(20, 20, 1.8)                # press, hold, release

Xvfb picks the display number itself (-displayfd) and says it only once it accepts
connections, so there is no guessing of free numbers and no sleep before the first client.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time

TOOLS = ("Xvfb", "xdotool")
SIZE = (1920, 1080)


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class VirtualDisplay:
    def __init__(self, width: int = SIZE[0], height: int = SIZE[1], start_timeout_s: float = 20.0):
        self.width, self.height = width, height
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen | None = None
        self.number: int | None = None
        self.runtime_dir = None

    def start(self) -> "VirtualDisplay":
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                 f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
            os.close(write_end)
            write_end = None
            self.number = self._read_number(read_end)
        except BaseException:
            self.stop()
            raise
        finally:
            if write_end is not None:
                os.close(write_end)
            os.close(read_end)
        self.runtime_dir = tempfile.TemporaryDirectory(prefix="xvfb-runtime-")
        os.chmod(self.runtime_dir.name, 0o700)
        return self

    def _read_number(self, fd: int) -> int:
        text, end = b"", time.monotonic() + self.start_timeout_s
        while not text.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                err = b""
                if self.process.poll() is not None:
                    err = self.process.stderr.read()
                raise RuntimeError(f"Xvfb did not start: {err.decode(errors='replace')[-500:]}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 64)
                if not chunk:
                    continue
                text += chunk
        return int(text.strip())

    def env(self) -> dict[str, str]:
        """What a Qt program needs to open its window on this screen."""
        return {"DISPLAY": f":{self.number}", "QT_QPA_PLATFORM": "xcb",
                "XDG_RUNTIME_DIR": self.runtime_dir.name}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        if self.runtime_dir is not None:
            self.runtime_dir.cleanup()
            self.runtime_dir = None

    def __enter__(self) -> "VirtualDisplay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Finger:
    """Real pointer input through the X server: each call runs xdotool once and waits for it."""

    def __init__(self, timeout_s: float = 10.0, gap_s: float = 0.04):
        self.timeout_s = timeout_s
        self.gap_s = gap_s                     # between taps of one run (a fast typist)

    def run(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=self.timeout_s,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def tap(self, x: int, y: int) -> None:
        self.run("mousemove", str(x), str(y), "click", "1")

    def taps(self, points) -> None:
        args: list[str] = []
        for x, y in points:
            args += ["mousemove", str(x), str(y), "click", "1", "sleep", str(self.gap_s)]
        if args:
            self.run(*args)

    def long_press(self, x: int, y: int, hold_s: float) -> None:
        self.run("mousemove", str(x), str(y), "mousedown", "1", "sleep", str(hold_s),
                 "mouseup", "1")
