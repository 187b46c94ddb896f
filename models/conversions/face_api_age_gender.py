"""Build models/converted/face_api_age_gender.onnx from face-api.js's AgeGenderNet weights.

    npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
    python models/conversions/face_api_age_gender.py package/model models/converted/face_api_age_gender.onnx

The npm package ships weights only (`age_gender_model-weights_manifest.json` + `.bin`, uint8
quantised: value = q * scale + min); the network is code in face-api.js (`src/ageGenderNet`,
`src/xception/TinyXception`, two middle blocks). This script rebuilds that graph with `onnx.helper`
so no TensorFlow or JavaScript is needed. Input `images` [N, 3, 112, 112]: RGB, (byte - (122.782,
117.001, 104.298)) / 256, the normalisation face-api.js applies (and the same as the dlib nets).
Outputs: `age` [N, 1] in years, `gender` [N, 2] softmax, index 0 = male.
TF's SAME padding puts the odd pixel at the end, which is ONNX's SAME_UPPER.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIDDLE_BLOCKS = 2


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    manifest = json.loads((model_dir / "age_gender_model-weights_manifest.json").read_text())
    data = (model_dir / "age_gender_model.bin").read_bytes()
    weights, offset = {}, 0
    for group in manifest:
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            quant = spec.get("quantization")
            if quant:
                dtype = {"uint8": np.uint8, "uint16": np.uint16}[quant["dtype"]]
                raw = np.frombuffer(data, dtype, count, offset)
                value = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                dtype = np.float32
                value = np.frombuffer(data, np.float32, count, offset)
            offset += count * np.dtype(dtype).itemsize
            weights[spec["name"]] = value.reshape(spec["shape"]).astype(np.float32)
    if offset != len(data):
        raise ValueError(f"weights manifest covers {offset} bytes of {len(data)}")
    return weights


class GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.nodes, self.inits = [], []
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def _init(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str, **attrs) -> str:
        out = self._name(hint)
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, prefix: str, stride: int) -> str:
        kernel = self.w[prefix + "/filters"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        k = self._init(prefix + "/W", kernel)
        b = self._init(prefix + "/B", self.w[prefix + "/bias"])
        return self.op("Conv", [x, k, b], prefix, strides=[stride, stride], auto_pad="SAME_UPPER",
                       kernel_shape=list(kernel.shape[2:]))

    def separable(self, x: str, prefix: str) -> str:
        depthwise = self.w[prefix + "/depthwise_filter"]          # [3, 3, C, 1]
        channels = depthwise.shape[2]
        dw = self._init(prefix + "/DW", depthwise.transpose(2, 3, 0, 1))  # [C, 1, 3, 3]
        y = self.op("Conv", [x, dw], prefix + "/dw", group=channels, auto_pad="SAME_UPPER", kernel_shape=[3, 3])
        pw = self._init(prefix + "/PW", self.w[prefix + "/pointwise_filter"].transpose(3, 2, 0, 1))
        b = self._init(prefix + "/B", self.w[prefix + "/bias"])
        return self.op("Conv", [y, pw, b], prefix + "/pw", kernel_shape=[1, 1])

    def relu(self, x: str) -> str:
        return self.op("Relu", [x], "relu")

    def reduction(self, x: str, prefix: str, activate_input: bool = True) -> str:
        y = self.relu(x) if activate_input else x
        y = self.separable(y, prefix + "/separable_conv0")
        y = self.separable(self.relu(y), prefix + "/separable_conv1")
        y = self.op("MaxPool", [y], prefix + "/pool", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
        return self.op("Add", [y, self.conv(x, prefix + "/expansion_conv", 2)], prefix + "/add")

    def main_block(self, x: str, prefix: str) -> str:
        y = x
        for i in range(3):
            y = self.separable(self.relu(y), f"{prefix}/separable_conv{i}")
        return self.op("Add", [y, x], prefix + "/add")

    def dense(self, x: str, prefix: str) -> str:
        w = self._init(prefix + "/W", self.w[prefix + "/weights"])
        b = self._init(prefix + "/B", self.w[prefix + "/bias"])
        return self.op("Gemm", [x, w, b], prefix)


def build(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = GraphBuilder(weights)
    x = g.relu(g.conv("images", "entry_flow/conv_in", 2))
    x = g.reduction(x, "entry_flow/reduction_block_0", activate_input=False)
    x = g.reduction(x, "entry_flow/reduction_block_1")
    for i in range(MIDDLE_BLOCKS):
        x = g.main_block(x, f"middle_flow/main_block_{i}")
    x = g.reduction(x, "exit_flow/reduction_block")
    x = g.relu(g.separable(x, "exit_flow/separable_conv"))
    # face-api.js: avgPool 7x7 stride 2 'valid' on the 7x7 map of a 112 px input = global average.
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x], "pool")], "flatten")
    g.nodes.append(helper.make_node("Identity", [g.dense(x, "fc/age")], ["age"], name="age"))
    g.nodes.append(helper.make_node("Softmax", [g.dense(x, "fc/gender")], ["gender"], name="gender", axis=1))
    graph = helper.make_graph(
        g.nodes, "face_api_age_gender",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("gender", TensorProto.FLOAT, ["N", 2])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="cx-station models/conversions/face_api_age_gender.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    onnx.save(build(load_weights(Path(argv[0]))), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
