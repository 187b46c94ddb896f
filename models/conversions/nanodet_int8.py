"""Build models/converted/nanodet_g_coco_int8.onnx: NanoDet-g with 8-bit weights and activations.

    .venv/bin/python models/conversions/nanodet_int8.py \\
        models/converted/nanodet_g_coco.onnx ../shared/data/fairface-540/images \\
        models/converted/nanodet_g_coco_int8.onnx

ONNX Runtime static quantisation, QOperator format (QLinearConv etc.), uint8 activations and
per-channel uint8 weights: on a 2-core AVX2 box that runs the network in about half the time of
the float model. (QDQ format with int8 weights was slower here and its sigmoid outputs collapsed
to zero.) Activation ranges are calibrated (min/max) on 60 FairFace photos, not on frames of the
PETS clip the benches score, so the accuracy figures are not fitted to that clip. The photos are
fed like camera frames: squashed to 480x352, NanoDet's BGR mean/std.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quant_pre_process, quantize_static

MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
CALIBRATION_SIZE = (480, 352)
CALIBRATION_IMAGES = 60


class PhotoReader(CalibrationDataReader):
    def __init__(self, input_name: str, photos: list[Path]):
        self._items = iter(photos)
        self._input = input_name

    def get_next(self):
        path = next(self._items, None)
        if path is None:
            return None
        image = cv2.resize(cv2.imread(str(path)), CALIBRATION_SIZE, interpolation=cv2.INTER_LINEAR)
        blob = ((image.astype(np.float32) - MEAN_BGR) / STD_BGR).transpose(2, 0, 1)[None]
        return {self._input: np.ascontiguousarray(blob)}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, photo_dir, target = Path(argv[0]), Path(argv[1]), Path(argv[2])
    # Every 9th photo of the sorted folder: all age groups and genders, no choice by hand.
    photos = sorted(p for p in photo_dir.iterdir() if p.suffix.lower() in {".jpg", ".png"})[::9][:CALIBRATION_IMAGES]
    if len(photos) < CALIBRATION_IMAGES:
        raise SystemExit(f"need {CALIBRATION_IMAGES} calibration photos in {photo_dir}, found {len(photos)}")
    input_name = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(target), PhotoReader(input_name, photos),
                        quant_format=QuantFormat.QOperator, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
