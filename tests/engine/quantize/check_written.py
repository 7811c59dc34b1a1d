"""Checks a model written by test_onnx_writer.cpp: onnx.checker (full), then onnxruntime's
outputs against numpy on the same weights, regenerated from their formula."""
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    print(f"SKIP: {e}")
    raise SystemExit(77)


def pattern(dims, seed):
    n = int(np.prod(dims)) if dims else 1
    i = np.arange(n, dtype=np.int64)
    return (((i * 37 + seed * 11) % 101 - 50) / 64.0).astype(np.float32).reshape(dims)


path = sys.argv[1]
onnx.checker.check_model(path, full_check=True)
W1, G, bias, E, W2 = pattern([32, 48], 1), pattern([48, 48], 2), pattern([48], 3), pattern([40, 48], 4), pattern([48, 16], 5)
rng = np.random.default_rng(0)
X = rng.standard_normal((3, 32)).astype(np.float32)
ids = np.array([0, 39, 7], np.int64)
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
logits, y = sess.run(["logits", "y"], {"X": X, "ids": ids})
ref_logits = ((X @ W1) @ G.T + bias) @ E.T
ref_y = (E[ids] @ np.maximum(W2, 0)) * 2
for name, got, ref in (("logits", logits, ref_logits), ("y", y, ref_y)):
    err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
    print(f"{name}: max relative error {err:.2e}")
    assert err < 1e-5, name
print("OK")
