"""Hugging Face safetensors + config.json -> ONNX Runtime GenAI folder, for the Llama, Mistral, Qwen2,
Phi-3, Gemma, Gemma-2 and Gemma-3 families. No real HF checkpoint is available offline, so each case
is a tiny random checkpoint: config.json written by transformers' own config class (as
save_pretrained writes it), weights from numpy in a safetensors file (F32, F16 or BF16).

1. onnxruntime's logits on our fp32 graph equal hf_reference.py's numpy forward (written from
   each family's modeling code, independent of onnx) within 1e-4 of the largest |logit| (float64
   reference; measured <= 3e-6). Each case has a prompt longer than its sliding window.
2. run-llm's logits on the same folder equal onnxruntime's within 1e-4 (prefill, all positions),
   and 8 greedy steps agree (or part at a top-2 tie within that tolerance).
3. fp16, int8 and int4 folders of Qwen2 and Gemma-3: onnxruntime vs the reference within 2e-2
   (fp16; measured 2.8e-3, 5.4e-4) and 1e-1 (int8, symmetric block 32 weights, embedding
   included; measured 6.2e-2, 1.3e-2); int4 of random weights is too far from the float model
   for a reference bound. run-llm vs onnxruntime within 1e-2 (fp16) and 5e-2 (int8/int4:
   accuracy_level 4 quantizes activations in both engines; measured <= 4e-7 at these sizes).
usage: test_hf_families.py RLLM_LOGITS
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "convert"))
from hf_reference import forward  # noqa: E402
from ort_runner import SKIP, OrtDecoder  # noqa: E402
from test_gemma3 import rel_err, rllm_logits, top2_gap  # noqa: E402

try:
    import transformers
except ImportError as e:
    print(f"SKIP: transformers not importable ({e})")
    sys.exit(SKIP)

CONVERT = os.path.join(HERE, "..", "..", "scripts", "convert", "hf_to_ortgenai.py")
PROMPT = [1, 17, 33, 5, 60, 2, 91, 44, 12, 70, 3]
SMALL = dict(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def cases():
    T = transformers
    return [
        ("llama", T.LlamaConfig(**SMALL, architectures=["LlamaForCausalLM"]), "F32"),
        ("mistral", T.MistralConfig(**SMALL, sliding_window=5, architectures=["MistralForCausalLM"]), "BF16"),
        ("qwen2", T.Qwen2Config(**SMALL, tie_word_embeddings=True, architectures=["Qwen2ForCausalLM"]), "F32"),
        ("phi3", T.Phi3Config(**{**SMALL, "num_attention_heads": 2, "num_key_value_heads": 1}, sliding_window=6, architectures=["Phi3ForCausalLM"],
                              rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}), "F16"),
        ("gemma", T.GemmaConfig(**SMALL, head_dim=16, architectures=["GemmaForCausalLM"]), "F32"),
        ("gemma2", T.Gemma2Config(**SMALL, head_dim=16, sliding_window=4, query_pre_attn_scalar=16,
                                  attn_logit_softcapping=2.0, final_logit_softcapping=3.0, architectures=["Gemma2ForCausalLM"]), "BF16"),
        ("gemma3", T.Gemma3TextConfig(**SMALL, head_dim=32, sliding_window=4, query_pre_attn_scalar=24,
                                      layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                                      architectures=["Gemma3ForCausalLM"]), "F32"),
    ]


def weights(cfg: dict, rng) -> dict:
    fam = cfg["architectures"][0]
    d, ffn, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // nh
    gemma = fam.startswith("Gemma")
    r = lambda *s: rng.normal(0, 0.2, s).astype(np.float32)  # noqa: E731
    # Llama-style norms scale by w (around 1), Gemma's by (1 + w) (w around 0)
    nrm = lambda n: (r(n) if gemma else 1.0 + r(n))  # noqa: E731
    sd = {"model.embed_tokens.weight": r(v, d), "model.norm.weight": nrm(d)}
    if not cfg.get("tie_word_embeddings", False):
        sd["lm_head.weight"] = r(v, d)
    for i in range(cfg["num_hidden_layers"]):
        p, a = f"model.layers.{i}", f"model.layers.{i}.self_attn"
        sd[f"{p}.input_layernorm.weight"] = nrm(d)
        sd[f"{p}.post_attention_layernorm.weight"] = nrm(d)
        sd[f"{a}.o_proj.weight"] = r(d, nh * hd)
        sd[f"{p}.mlp.down_proj.weight"] = r(d, ffn)
        if fam == "Phi3ForCausalLM":
            sd[f"{a}.qkv_proj.weight"] = r((nh + 2 * nkv) * hd, d)
            sd[f"{p}.mlp.gate_up_proj.weight"] = r(2 * ffn, d)
        else:
            for n, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                sd[f"{a}.{n}_proj.weight"] = r(rows, d)
            sd[f"{p}.mlp.gate_proj.weight"], sd[f"{p}.mlp.up_proj.weight"] = r(ffn, d), r(ffn, d)
        if fam == "Qwen2ForCausalLM":
            for n, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                sd[f"{a}.{n}_proj.bias"] = r(rows)
        if fam in ("Gemma2ForCausalLM", "Gemma3ForCausalLM"):
            sd[f"{p}.pre_feedforward_layernorm.weight"] = nrm(d)
            sd[f"{p}.post_feedforward_layernorm.weight"] = nrm(d)
        if fam == "Gemma3ForCausalLM":
            sd[f"{a}.q_norm.weight"], sd[f"{a}.k_norm.weight"] = nrm(hd), nrm(hd)
    return sd


def round_to(sd: dict, dtype: str) -> dict:
    """The values a checkpoint stored in dtype holds (round to nearest even for BF16)."""
    if dtype == "F16":
        return {k: v.astype(np.float16).astype(np.float32) for k, v in sd.items()}
    if dtype == "BF16":
        out = {}
        for k, v in sd.items():
            u = v.view(np.uint32).astype(np.uint64)
            u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
            out[k] = u.astype(np.uint32).view(np.float32)
        return out
    return sd


def write_safetensors(path: str, sd: dict, dtype: str) -> None:
    """The safetensors layout: u64 header size, JSON header, then the raw little-endian tensors."""
    header, blobs, off = {}, [], 0
    for name, arr in sd.items():
        if dtype == "F16":
            raw = arr.astype(np.float16).tobytes()
        elif dtype == "BF16":
            raw = (arr.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            raw = arr.astype(np.float32).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def convert(src: str, out: str, precision: str) -> None:
    r = subprocess.run([sys.executable, CONVERT, src, out, "--precision", precision], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"hf_to_ortgenai {precision} failed: {r.stderr.strip()}")


def compare(name: str, driver: str, folder: str, ref: np.ndarray, tol_ref: float, tol_rllm: float) -> list[str]:
    failures = []
    ort = OrtDecoder(folder)
    got = ort.step(PROMPT)
    if tol_ref is not None:
        e = rel_err(got, ref)
        ok = e <= tol_ref
        print(f"{'OK' if ok else 'FAIL'}: {name}: onnxruntime vs numpy reference, relative error {e:.3g} (<= {tol_ref})")
        if not ok:
            failures.append(f"{name}: onnxruntime vs reference {e:.3g}")
    ref_tokens, row, ref_rows = [], got[-1], []
    for _ in range(8):
        ref_tokens.append(int(np.argmax(row)))
        ref_rows.append(row)
        row = ort.step([ref_tokens[-1]])[-1]
    prefill, _, logits = rllm_logits(driver, folder, PROMPT, 8)
    e = rel_err(prefill, got)
    ours = [int(np.argmax(prefill[-1]))] + [int(np.argmax(x)) for x in logits[:-1]]
    same = next((i for i in range(8) if ours[i] != ref_tokens[i]), 8)
    tie = same == 8 or top2_gap(ref_rows[same]) <= 2 * tol_rllm * np.abs(ref_rows[same]).max()
    ok = e <= tol_rllm and tie
    print(f"{'OK' if ok else 'FAIL'}: {name}: run-llm vs onnxruntime, relative error {e:.3g} (<= {tol_rllm}), greedy equal for {same}/8")
    if not ok:
        failures.append(f"{name}: run-llm vs onnxruntime {e:.3g}, greedy parts at {same}")
    return failures


def main() -> int:
    driver = sys.argv[1]
    rng = np.random.default_rng(7)
    failures = []
    with tempfile.TemporaryDirectory() as d:
        for name, config, dtype in cases():
            src = os.path.join(d, name)
            os.makedirs(src)
            config.to_json_file(os.path.join(src, "config.json"))
            with open(os.path.join(src, "config.json")) as f:
                cfg = json.load(f)
            sd = round_to(weights(cfg, rng), dtype)
            write_safetensors(os.path.join(src, "model.safetensors"), sd, dtype)
            ref = forward(cfg, sd, PROMPT)
            precisions = [("fp32", 1e-4, 1e-4)]
            if name in ("qwen2", "gemma3"):
                precisions += [("fp16", 2e-2, 1e-2), ("int8", 1e-1, 5e-2), ("int4", None, 5e-2)]
            for precision, tol_ref, tol_rllm in precisions:
                out = os.path.join(d, f"{name}-{precision}")
                try:
                    convert(src, out, precision)
                except RuntimeError as e:
                    failures.append(f"{name}: {e}")
                    print(f"FAIL: {name}: {e}")
                    continue
                failures += compare(f"{name} {precision} ({dtype} checkpoint)", driver, out, ref, tol_ref, tol_rllm)
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
