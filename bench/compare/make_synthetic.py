"""Synthetic random-weight models of real shapes, for benchmarks only.

Writes OUT/NAME.Q4_0.gguf (llama architecture, every matrix Q4_0 from random
nibbles and random fp16 scales ~ 1/(4.6·sqrt(K)), norms 1, a byte-level GPT-2
vocabulary padded with filler tokens) and converts it with
scripts/convert/gguf_to_ortgenai.py --precision int4, which carries Q4_0 over
exactly as MatMulNBits bits=4 block 32 without zero points: both files hold
the same numbers (q/k rows reordered for half-split rotary).

The shapes are the real ones, on the llama graph: Qwen2.5-0.5B's q/k/v biases
and Phi-3.5-mini's fused qkv / gate_up and long-rope scaling are left out (they
change neither the bytes read per token nor, materially, the FLOPs).

usage: make_synthetic.py [--out ~/.cache/run-llm/synthetic] [--models qwen2.5-0.5b,phi-3.5-mini]
"""
import argparse
import os
import subprocess
import sys
import zlib

import gguf
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SHAPES = {
    # layers, hidden, heads, kv heads, ffn, vocab, tied embeddings, rope theta, context
    "qwen2.5-0.5b": dict(layers=24, hidden=896, heads=14, kv=2, ffn=4864, vocab=151936, tied=True,
                         theta=1e6, ctx=32768),
    "phi-3.5-mini": dict(layers=32, hidden=3072, heads=32, kv=32, ffn=8192, vocab=32064, tied=False,
                         theta=1e4, ctx=4096),
    "tiny": dict(layers=2, hidden=128, heads=4, kv=2, ffn=256, vocab=1024, tied=True, theta=1e4, ctx=512),
}


def byte_tokens():
    """GPT-2's byte-to-unicode table: the 256 single-byte tokens."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def q4_0(rng, rows, k):
    """Random Q4_0 blocks for a [rows, k] matrix, as GGUF bytes [rows, k/32*18]."""
    nb = k // 32
    scale = 1.0 / (4.6 * np.sqrt(k))
    d = (rng.uniform(0.9, 1.1, size=(rows, nb)) * scale).astype(np.float16)
    q = rng.integers(0, 256, size=(rows, nb, 16), dtype=np.uint8)
    return np.concatenate([d.view(np.uint8).reshape(rows, nb, 2), q], axis=2).reshape(rows, nb * 18)


def write_gguf(path, name, s, seed):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, "llama")
    # Not the real name: llama.cpp special-cases names containing "phi-3" (looks up "</s>").
    w.add_name(f"synthetic random weights, {name.replace('-', ' ')} shape")
    w.add_context_length(s["ctx"])
    w.add_embedding_length(s["hidden"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["ffn"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv"])
    w.add_rope_dimension_count(s["hidden"] // s["heads"])
    w.add_rope_freq_base(s["theta"])
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(s["vocab"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    toks = byte_tokens() + ["Ġt", "<|bos|>", "<|eos|>"]
    toks += [f"<|synthetic_{i}|>" for i in range(s["vocab"] - len(toks))]
    types = [1] * 257 + [3, 3] + [4] * (s["vocab"] - 259)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges(["Ġ t"])
    w.add_bos_token_id(257)
    w.add_eos_token_id(258)
    w.add_add_bos_token(False)

    def mat(tname, rows, k):
        w.add_tensor(tname, q4_0(rng, rows, k), raw_dtype=gguf.GGMLQuantizationType.Q4_0)

    h, hd = s["hidden"], s["hidden"] // s["heads"]
    ones = np.ones(h, dtype=np.float32)
    mat("token_embd.weight", s["vocab"], h)
    for i in range(s["layers"]):
        b = f"blk.{i}"
        w.add_tensor(f"{b}.attn_norm.weight", ones)
        mat(f"{b}.attn_q.weight", s["heads"] * hd, h)
        mat(f"{b}.attn_k.weight", s["kv"] * hd, h)
        mat(f"{b}.attn_v.weight", s["kv"] * hd, h)
        mat(f"{b}.attn_output.weight", h, s["heads"] * hd)
        w.add_tensor(f"{b}.ffn_norm.weight", ones)
        mat(f"{b}.ffn_gate.weight", s["ffn"], h)
        mat(f"{b}.ffn_up.weight", s["ffn"], h)
        mat(f"{b}.ffn_down.weight", h, s["ffn"])
    w.add_tensor("output_norm.weight", ones)
    if not s["tied"]:
        mat("output.weight", s["vocab"], h)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.environ.get("RUNLLM_MODELS") or
                                                  os.path.expanduser("~/.cache/run-llm"), "synthetic"))
    ap.add_argument("--models", default="qwen2.5-0.5b,phi-3.5-mini")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in a.models.split(","):
        seed = zlib.crc32(name.encode())  # the same numbers whichever models are asked for
        gg = os.path.join(a.out, f"{name}.Q4_0.gguf")
        folder = os.path.join(a.out, f"{name}-ortgenai-int4")
        if not os.path.exists(gg):
            print(f"writing {gg}", flush=True)
            write_gguf(gg + ".tmp", name, SHAPES[name], seed)
            os.replace(gg + ".tmp", gg)
        if not os.path.exists(os.path.join(folder, "genai_config.json")):  # converted from this very GGUF
            print(f"converting to {folder}", flush=True)
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "convert", "gguf_to_ortgenai.py"),
                            gg, folder, "--precision", "int4"], check=True)


if __name__ == "__main__":
    main()
