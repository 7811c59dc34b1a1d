"""GGUF block types through scripts/convert/gguf_weights.py against the gguf package's own
dequantization, and through onnxruntime's MatMulNBits.

A GGUF file is written with gguf's GGUFWriter holding one [48, 256] matrix per type, quantized by
gguf.quants.quantize (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; F16, BF16, F32 as is); it is read back with
GGUFReader. Carried-over types (Q8_0, Q4_0 exact; Q4_1 with float zero points to 1 ulp) must
dequantize to gguf's values, and onnxruntime's MatMulNBits (accuracy_level 0) on the carried
blocks must equal x . W^T with gguf's W within 1e-5 relative. Other types come back as float equal
to gguf.quants.dequantize.
"""
import os
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFWriter
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "convert"))
sys.path.insert(0, HERE)
from gguf_weights import to_weight  # noqa: E402
from quant import QuantizedWeight  # noqa: E402
from test_matmulnbits_layout import run_ort  # noqa: E402

TYPES = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.F16, T.BF16, T.F32]
CARRIED = {T.Q8_0: (8, False), T.Q4_0: (4, False), T.Q4_1: (4, True)}


def main() -> int:
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((48, 256)) * 0.05 + 0.01).astype(np.float32)
    failures = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "blocks.gguf")
        writer = GGUFWriter(path, "llama")
        for qt in TYPES:
            data = w if qt == T.F32 else quantize(w, qt)
            writer.add_tensor(qt.name, data, raw_dtype=None if qt == T.F32 else qt)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        reader = GGUFReader(path)
        for t in reader.tensors:
            qt = t.tensor_type
            ref = w if qt == T.F32 else dequantize(np.asarray(t.data), qt).reshape(48, 256)
            got = to_weight(t)
            if qt in CARRIED:
                bits, typed = CARRIED[qt]
                if not isinstance(got, QuantizedWeight) or got.bits != bits or got.block != 32 or (got.zero_points is not None) != typed:
                    failures.append(f"{qt.name}: not carried over as bits {bits} block 32 ({'float' if typed else 'no'} zero points)")
                    continue
                deq = got.dequantize()
                err = float(np.abs(deq - ref).max())
                tol = 1e-6 * float(np.abs(ref).max()) if typed else 0.0
                if err > tol:
                    failures.append(f"{qt.name}: dequantized blocks differ from gguf's by {err:.3g} (tol {tol:.3g})")
                x = rng.standard_normal((2, 256)).astype(np.float32)
                want = x @ ref.T
                rel = float(np.abs(run_ort(got, x) - want).max() / np.abs(want).max())
                if rel > 1e-5:
                    failures.append(f"{qt.name}: onnxruntime MatMulNBits differs from x . W^T by {rel:.3g} relative")
                print(f"{qt.name}: carried as MatMulNBits bits {bits}, max |deq - gguf| {err:.3g}, MatMulNBits rel err {rel:.3g}")
            else:
                if isinstance(got, QuantizedWeight) or not np.array_equal(got, ref):
                    failures.append(f"{qt.name}: float read differs from gguf.quants.dequantize")
                print(f"{qt.name}: read as float, equal to gguf's dequantize")
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print(f"OK: {len(TYPES)} GGUF tensor types")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
