"""The debug window of ``[vision] debug_preview`` (off by default): person boxes, heads blurred.

    preview = DebugPreview()
    while (frame := camera.read()) is not None:
        preview.show(frame.image, pipeline.process(frame))

Only for setting up lines and zones at the store with a screen attached; nothing is saved.
Where no window can open (a headless box) it says so once and turns itself off.
"""
from __future__ import annotations

import logging

import cv2

log = logging.getLogger("cx-vision")


class DebugPreview:
    def __init__(self):
        self.ok = True

    def show(self, image, people) -> None:
        if not self.ok:
            return
        view = image.copy()
        for x1, y1, x2, y2 in people.xyxy.astype(int).tolist():
            head = view[max(y1, 0):max(y1 + (y2 - y1) // 4, 0), max(x1, 0):max(x2, 0)]
            if head.size:
                head[:] = cv2.GaussianBlur(head, (0, 0), 8)
            cv2.rectangle(view, (x1, y1), (x2, y2), (0, 200, 0), 1)
        try:
            cv2.imshow("cx-vision (debug preview)", view)
            cv2.waitKey(1)
        except cv2.error as exc:
            log.warning("debug preview cannot open a window here (%s); turning it off",
                        str(exc).splitlines()[0][:120])
            self.ok = False
