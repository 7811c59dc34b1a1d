"""run-llm perplexity against the same computation with onnxruntime + numpy.

The reference tokenizes the text with the HF `tokenizers` library (tokenizer.json, special
tokens added), cuts non-overlapping windows of CTX tokens, replaces each window's first token
with BOS, runs each window from an empty KV cache, and scores the second half as llama.cpp's
perplexity tool does: tokens CTX/2+1 .. CTX-1, NLL from float64 log-softmax.
usage: check_perplexity.py RUN_LLM MODELS_DIR TEXT
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "convert"))
try:
    import numpy as np
    from ort_runner import OrtDecoder, require_folder
    from tokenizers import Tokenizer
except ImportError as e:
    print(f"SKIP: {e}")
    raise SystemExit(77)

run_llm, models, text_path = sys.argv[1:4]
CTX = 64


def reference(folder: str, text: str) -> tuple[float, float, int]:
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    ids = tok.encode(text, add_special_tokens=True).ids
    bos = 1
    assert ids[0] == bos, "stories260K's tokenizer adds BOS"
    dec = OrtDecoder(folder)
    nll = []
    first = CTX // 2
    for c in range(len(ids) // CTX):
        window = ids[c * CTX:(c + 1) * CTX]
        window[0] = bos
        dec.reset()
        logits = dec.step(window).astype(np.float64)
        for j in range(first, CTX - 1):
            row = logits[j]
            m = row.max()
            lse = m + np.log(np.exp(row - m).sum())
            nll.append(lse - row[ids[c * CTX + j + 1]])
    nll = np.array(nll)
    ppl = float(np.exp(nll.mean()))
    err = ppl * float(np.sqrt(nll.var() / (len(nll) - 1)))
    return ppl, err, len(ids) // CTX


with open(text_path, encoding="utf-8") as f:
    text = f.read()
failures = 0
# fp32 checks the perplexity arithmetic and windowing (logits match onnxruntime's to ~1e-5;
# logit parity itself is tested elsewhere). int4 (accuracy_level 4) checks that the quantized
# path is scored the same way, within the spread of onnxruntime's own int8 activation paths,
# which MLAS picks by CPU: on AVX2-only CPUs it rounds as run-llm does (1e-5 apart), on an
# AVX-512 VNNI Xeon its figure moved to 2.4e-3 from ours, nearer its own accuracy_level 0
# (5.4303 and 5.4281 there; run-llm 5.4433 on every ISA, and 5.4281 at level 0).
bounds = {"fp32": 1e-3, "int4": 5e-3}
for precision in ("fp32", "int4"):
    folder = os.path.join(models, f"stories260K-{precision}")
    require_folder(folder)
    out = subprocess.run([run_llm, "perplexity", folder, "--file", text_path, "--ctx", str(CTX), "--threads", "1"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out.stdout)
    assert m, out.stdout
    ppl, err = float(m.group(1)), float(m.group(2))
    running = re.findall(r"\[(\d+)\]([0-9.]+),", out.stdout)
    ref_ppl, ref_err, chunks = reference(folder, text)
    rel = abs(ppl - ref_ppl) / ref_ppl
    rel_err = abs(err - ref_err) / ref_err
    ok = rel < bounds[precision] and rel_err < 1e-2 and len(running) == chunks and float(running[-1][1]) == ppl
    print(f"{precision}: run-llm PPL {ppl:.4f} +/- {err:.5f}, onnxruntime {ref_ppl:.4f} +/- {ref_err:.5f} "
          f"over {chunks} windows of {CTX}: relative difference {rel:.1e} {'OK' if ok else 'FAIL'}")
    failures += not ok

# A window longer than the model's context, or an unreadable file, fails with a message naming it.
out = subprocess.run([run_llm, "perplexity", os.path.join(models, "stories260K-fp32"), "--file", text_path,
                      "--ctx", "100000"], capture_output=True, text=True)
bad_ctx = out.returncode == 1 and "--ctx 100000" in out.stderr
out = subprocess.run([run_llm, "perplexity", os.path.join(models, "stories260K-fp32"), "--file", "/nonexistent.txt"],
                     capture_output=True, text=True)
bad_file = out.returncode == 1 and "/nonexistent.txt" in out.stderr
print(f"bad --ctx rejected: {bad_ctx}; unreadable file named: {bad_file}")
sys.exit(1 if failures or not bad_ctx or not bad_file else 0)
