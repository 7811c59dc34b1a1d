"""Writes MatMulNBits cases for test_nbits_ort: random ONNX-layout weights, inputs and
onnxruntime's outputs at accuracy_level 0 and 4.

Usage: ort_matmulnbits_golden.py OUT_DIR. Writes OUT_DIR/cases.txt, one line per case:
  name M K N bits block zp(none|packed|typed) has_bias
and raw little-endian files OUT_DIR/<name>.{A,B,scales,zp,bias,Y0,Y4}.
onnxruntime's CPU MatMulNBits rejects 8-bit weights with float zero points: typed is 4 bit only.
"""
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def run(M, K, N, bits, block, level, arrays, zp_kind, has_bias):
    inits = [numpy_helper.from_array(arrays["B"], "B"), numpy_helper.from_array(arrays["scales"], "scales")]
    inputs = ["A", "B", "scales"]
    if zp_kind != "none":
        inits.append(numpy_helper.from_array(arrays["zp"], "zp"))
        inputs.append("zp")
    if has_bias:
        inputs += [""] * (5 - len(inputs)) + ["bias"]
        inits.append(numpy_helper.from_array(arrays["bias"], "bias"))
    node = helper.make_node("MatMulNBits", inputs, ["Y"], domain="com.microsoft", K=K, N=N, bits=bits,
                            block_size=block, accuracy_level=level)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [M, K])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [M, N])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=10)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"A": arrays["A"]})[0]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    lines = []
    for bits in (4, 8):
        for block in (16, 32, 128):
            for zp_kind in ("none", "packed", "typed") if bits == 4 else ("none", "packed"):
                for M in (1, 5):
                    K, N = 2 * block + 24, 37
                    has_bias = zp_kind == "packed" and M == 5
                    nb = (K + block - 1) // block
                    a = {
                        "A": rng.standard_normal((M, K)).astype(np.float32),
                        "B": rng.integers(0, 256, size=(N, nb, block * bits // 8), dtype=np.uint8),
                        "scales": rng.uniform(0.001, 0.05, size=(N * nb,)).astype(np.float32),
                        "bias": rng.standard_normal(N).astype(np.float32),
                    }
                    if zp_kind == "packed":
                        a["zp"] = rng.integers(0, 256, size=(N, (nb * bits + 7) // 8), dtype=np.uint8)
                    elif zp_kind == "typed":
                        a["zp"] = rng.uniform(0, 15, size=(N * nb,)).astype(np.float32)
                    name = f"b{bits}_bs{block}_{zp_kind}_m{M}"
                    for level in (0, 4):
                        a[f"Y{level}"] = run(M, K, N, bits, block, level, a, zp_kind, has_bias)
                    for key, v in a.items():
                        v.tofile(os.path.join(out, f"{name}.{key}"))
                    lines.append(f"{name} {M} {K} {N} {bits} {block} {zp_kind} {int(has_bias)}")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
