"""(a) onnxruntime on the fp32 stories260K export vs the numpy run.c reference, step by step.

The prompt "Once upon a time" (with BOS, as llama2.c encodes it) is prefilled in one call, then 40
tokens are decoded one at a time through the KV cache (present -> past). At every position the
onnxruntime logits must match the float64 reference within 2e-4 absolute (logits are O(10);
fp32 accumulation error is ~1e-5), and the argmax must agree.
usage: test_stories_fp32_parity.py MODELS_DIR SHARED_MODELS_DIR
"""
import os
import sys

import numpy as np

from llama2c_reference import Llama2cReference
from ort_runner import OrtDecoder, require_folder

TOL = 2e-4
PROMPT = [1, 403, 407, 261, 378]  # <s> "Once upon a time" (sentencepiece ids of tok512.model)


def main() -> int:
    models, shared = sys.argv[1], sys.argv[2]
    folder = os.path.join(models, "stories260K-fp32")
    require_folder(folder)
    ref = Llama2cReference(os.path.join(shared, "stories260K", "stories260K.bin"))
    dec = OrtDecoder(folder)

    ref_logits = [ref.forward(t, pos) for pos, t in enumerate(PROMPT)]
    ort_logits = list(dec.step(PROMPT))
    worst, compared = 0.0, 0
    for step in range(40):
        for pos, (r, o) in enumerate(zip(ref_logits, ort_logits)):
            err = float(np.max(np.abs(r - o)))
            worst = max(worst, err)
            compared += 1
            if err > TOL or int(np.argmax(r)) != int(np.argmax(o)):
                print(f"FAIL: position {len(PROMPT) + step - len(ref_logits) + pos}: max |ref - ort| = {err:.3g} (tol {TOL}), argmax ref {np.argmax(r)} ort {np.argmax(o)}")
                return 1
        nxt = int(np.argmax(ref_logits[-1]))
        pos = len(PROMPT) + step
        ref_logits = [ref.forward(nxt, pos)]
        ort_logits = [dec.step([nxt])[0]]
    print(f"OK: {compared} positions, max |ref - ort| = {worst:.3g} (tol {TOL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
