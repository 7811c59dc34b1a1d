"""onnxruntime logits of a GenAI folder for a list of ids: writes float32 [len(ids), vocab] raw."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "convert"))
try:
    import numpy as np
    from ort_runner import OrtDecoder
except ImportError as e:
    print(f"SKIP: {e}")
    raise SystemExit(77)

folder, ids, out = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], sys.argv[3]
logits = OrtDecoder(folder).step(ids)
np.ascontiguousarray(logits, np.float32).tofile(out)
print(f"{logits.shape[0]}x{logits.shape[1]} logits")
