"""One-op cases for the ops optimum / torch.onnx exports add (engine/ops/export_ops.cpp),
written beside make_op_cases.py's into the same folder, so test_op_parity compares each
with onnxruntime: fp32, and fp16 where onnxruntime's CPU provider has the op.
Exit 77 (skip) when onnx/onnxruntime are not installed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ops"))
import make_op_cases as mc  # noqa: E402  (exits 77 itself without onnx/onnxruntime)

np, TensorProto, case, rnd = mc.np, mc.TensorProto, mc.case, mc.rnd


def main():
    out = sys.argv[1]
    for dt, tag in ((np.float32, "f32"), (np.float16, "f16")):
        angles = rnd((3, 40), dt, -60.0, 60.0)  # rotary angles reach position x 1
        case(out, f"export_sin_{tag}", "Sin", [("x", angles)])
        case(out, f"export_cos_{tag}", "Cos", [("x", angles)])
    for dt, tag in ((np.float32, "f32"), (np.float16, "f16"), (np.int64, "i64")):
        x = rnd((2, 5, 7), np.float32, -3, 3).astype(dt)
        case(out, f"export_trilu_upper_{tag}", "Trilu", [("x", x)], consts=[("k", np.array(1, np.int64))])
        case(out, f"export_trilu_lower_neg_k_{tag}", "Trilu", [("x", x), ("k", np.array(-2, np.int64))], {"upper": 0})
        case(out, f"export_trilu_default_{tag}", "Trilu", [("x", x[0, :4, :4])])
        # a causal mask's slice assignment: rows of [B, 1, S, T] replaced
        data = rnd((2, 1, 4, 6), np.float32).astype(dt)
        upd = rnd((2, 1, 6), np.float32).astype(dt)
        case(out, f"export_scatternd_rows_{tag}", "ScatterND",
             [("d", data), ("i", np.array([[[0, 0, 3]], [[1, 0, -4]]], np.int64)), ("u", upd)])
        case(out, f"export_scatternd_elems_{tag}", "ScatterND",
             [("d", data), ("i", np.array([[0, 0, 1, 5], [1, 0, 2, 0]], np.int64)), ("u", rnd((2,), np.float32).astype(dt))])


if __name__ == "__main__":
    main()
