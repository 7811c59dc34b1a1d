"""scripts/convert/quant.py against onnxruntime's MatMulNBits (accuracy_level 0, exact float path).

For bits 4/8, symmetric / asymmetric (packed uint8 zero points) / typed float zero points, block
16..128 and K not a multiple of the block: onnxruntime's Y must equal x . dequantize(W)^T from
quant.py within 1e-4 relative, and the round trip obeys the rounding bound |w - w'| <= scale/2
except for symmetric 4 bit, whose Q4_0 scale (m / -8, m the block's largest-magnitude value)
reproduces m exactly and clips the opposite side at 7 steps, so its bound is |w - w'| <= |scale|.
onnxruntime's CPU MatMulNBits rejects 8-bit weights with float zero points, so "typed" is 4 bit only.
"""
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "convert"))
from quant import QuantizedWeight, quantize  # noqa: E402


def run_ort(qw: QuantizedWeight, x: np.ndarray) -> np.ndarray:
    inits = [numpy_helper.from_array(qw.data, "B"), numpy_helper.from_array(qw.scales, "scales")]
    inputs = ["x", "B", "scales"]
    if qw.zero_points is not None:
        inits.append(numpy_helper.from_array(qw.zero_points, "zp"))
        inputs.append("zp")
    node = helper.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", K=qw.k, N=qw.n, bits=qw.bits, block_size=qw.block, accuracy_level=0)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, qw.k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, qw.n])], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)], ir_version=10)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def main() -> int:
    rng = np.random.default_rng(7)
    failed = 0
    cases = 0
    for bits in (4, 8):
        for block in (16, 32, 64, 128):
            for k in (172, 256):
                for mode in ("sym", "asym", "typed") if bits == 4 else ("sym", "asym"):
                    w = rng.standard_normal((24, k)).astype(np.float32) * 0.1 + (0.05 if mode != "sym" else 0.0)
                    qw = quantize(w, bits, block, asym=mode != "sym")
                    if mode == "typed":
                        qw.zero_points = qw.zero_points_float().astype(np.float32)
                    deq = qw.dequantize()
                    scale_full = np.repeat(qw.scales, block, axis=1)[:, :k]
                    step = 1.0 if (mode == "sym" and bits == 4) else 0.5
                    bound_ok = bool(np.all(np.abs(deq - w) <= np.abs(scale_full) * step + 1e-6))
                    if mode == "sym" and bits == 4:
                        nb = qw.n_blocks
                        wp = np.zeros((24, nb * block), np.float32)
                        wp[:, :k] = w
                        dp = np.zeros_like(wp)
                        dp[:, :k] = deq
                        idx = np.abs(wp.reshape(24, nb, block)).argmax(axis=2)
                        peak_w = np.take_along_axis(wp.reshape(24, nb, block), idx[:, :, None], 2)
                        peak_d = np.take_along_axis(dp.reshape(24, nb, block), idx[:, :, None], 2)
                        bound_ok &= bool(np.allclose(peak_w, peak_d, rtol=1e-6, atol=0))
                    x = rng.standard_normal((3, k)).astype(np.float32)
                    want = x @ deq.T
                    got = run_ort(qw, x)
                    rel = float(np.abs(got - want).max() / np.abs(want).max())
                    cases += 1
                    if rel > 1e-4 or not bound_ok:
                        failed += 1
                        print(f"FAIL: bits {bits} block {block} K {k} {mode}: rel err {rel:.3g}, rounding bound {'ok' if bound_ok else 'violated'}")
    print(f"{'OK' if not failed else 'FAIL'}: {cases - failed}/{cases} MatMulNBits cases match quant.py")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
