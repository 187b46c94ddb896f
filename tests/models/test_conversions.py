"""The one-off model conversions in models/conversions/ rebuild exactly the committed files."""
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONVERTED = ROOT / "models" / "converted"
FAIRFACE = ROOT.parent / "shared" / "data" / "fairface-540" / "images"


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "models" / "conversions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tfjs_weights_from(model) -> dict[str, np.ndarray]:
    """Undo the builder's layout changes: ONNX initialisers back to face-api.js's named tensors."""
    out = {}
    for init in model.graph.initializer:
        value = numpy_helper.to_array(init)
        prefix, kind = init.name.rsplit("/", 1)
        if kind == "B":
            out[prefix + "/bias"] = value
        elif kind == "DW":
            out[prefix + "/depthwise_filter"] = value.transpose(2, 3, 0, 1)
        elif kind == "PW":
            out[prefix + "/pointwise_filter"] = value.transpose(2, 3, 1, 0)
        elif prefix.startswith("fc/"):
            out[prefix + "/weights"] = value
        else:
            out[prefix + "/filters"] = value.transpose(2, 3, 1, 0)
    return out


def _write_tfjs(folder: Path, weights: dict[str, np.ndarray], quantize: set[str] = frozenset()):
    specs, blobs = [], []
    for name, value in weights.items():
        spec = {"name": name, "shape": list(value.shape), "dtype": "float32"}
        if name in quantize:
            lo, hi = float(value.min()), float(value.max())
            scale = (hi - lo) / 255 or 1.0
            q = np.round((value - lo) / scale).astype(np.uint8)
            spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": lo}
            blobs.append(q.tobytes())
        else:
            blobs.append(value.astype(np.float32).tobytes())
        specs.append(spec)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "age_gender_model-weights_manifest.json").write_text(json.dumps([{"paths": ["age_gender_model.bin"], "weights": specs}]))
    (folder / "age_gender_model.bin").write_bytes(b"".join(blobs))


def test_age_gender_builder_reproduces_the_committed_graph(tmp_path):
    committed = onnx.load(CONVERTED / "face_api_age_gender.onnx")
    weights = _tfjs_weights_from(committed)
    assert len(weights) == 51                       # face-api.js's AgeGenderNet tensor count
    _write_tfjs(tmp_path / "model", weights)
    builder = _script("face_api_age_gender")
    rebuilt = builder.build(builder.load_weights(tmp_path / "model"))
    assert rebuilt.SerializeToString() == committed.SerializeToString()


def test_age_gender_builder_decodes_uint8_quantised_weights(tmp_path):
    builder = _script("face_api_age_gender")
    weights = {"fc/age/weights": np.linspace(-1, 1, 512, dtype=np.float32).reshape(512, 1),
               "fc/age/bias": np.array([30.0], np.float32)}
    _write_tfjs(tmp_path / "model", weights, quantize={"fc/age/weights"})
    loaded = builder.load_weights(tmp_path / "model")
    assert np.abs(loaded["fc/age/weights"] - weights["fc/age/weights"]).max() <= 1 / 255 + 1e-6
    assert loaded["fc/age/bias"].tolist() == [30.0]
    (tmp_path / "model" / "age_gender_model.bin").write_bytes(b"\0" * 10)
    with pytest.raises(ValueError):                 # a .bin that does not match its manifest
        builder.load_weights(tmp_path / "model")


def test_nanodet_int8_quantisation_is_reproducible(tmp_path):
    if not FAIRFACE.is_dir():
        pytest.skip(f"calibration photos not present at {FAIRFACE}")
    pytest.importorskip("onnxruntime.quantization")
    target = tmp_path / "int8.onnx"
    assert _script("nanodet_int8").main([str(CONVERTED / "nanodet_g_coco.onnx"), str(FAIRFACE), str(target)]) == 0
    assert hashlib.sha256(target.read_bytes()).hexdigest() == \
        hashlib.sha256((CONVERTED / "nanodet_g_coco_int8.onnx").read_bytes()).hexdigest()
