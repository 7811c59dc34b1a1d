"""BERT sentence embeddings computed in numpy (float64) straight from model.safetensors,
independent of ONNX, for checking the converted graph in test_encoder.cpp.

  bert_numpy_reference.py SRC_DIR OUT.json [MAX_LENGTH]

Tokenizes ort_embed.SENTENCES with SRC_DIR/tokenizer.json (HF `tokenizers`; its own
truncation, or MAX_LENGTH tokens when given) and writes
{"sentences", "ids", "embeddings"}: mean pooling over the tokens, L2 normalised, as
sentence-transformers' all-MiniLM-L6-v2 pipeline. Exits 77 when a package is missing.
"""
import json
import math
import os
import sys

try:
    import numpy as np
    import tokenizers
    from safetensors.numpy import load_file
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_embed import SENTENCES  # noqa: E402


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def forward(w, cfg, ids):
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // heads, cfg["layer_norm_eps"]
    W = {k: v.astype(np.float64) for k, v in w.items() if v.dtype == np.float32}
    S = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:S] + \
        W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    lin = lambda t, p: t @ W[p + ".weight"].T + W[p + ".bias"]  # noqa: E731
    erf = np.vectorize(math.erf)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (lin(x, f"{p}.attention.self.{n}").reshape(S, heads, dh).transpose(1, 0, 2) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = (s / s.sum(-1, keepdims=True)) @ v
        a = lin(ctx.transpose(1, 0, 2).reshape(S, H), f"{p}.attention.output.dense")
        x = layer_norm(a + x, W[f"{p}.attention.output.LayerNorm.weight"], W[f"{p}.attention.output.LayerNorm.bias"], eps)
        h = lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(lin(h, f"{p}.output.dense") + x, W[f"{p}.output.LayerNorm.weight"], W[f"{p}.output.LayerNorm.bias"], eps)
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


def main():
    src, out = sys.argv[1:3]
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    w = load_file(os.path.join(src, "model.safetensors"))
    tok = tokenizers.Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    tok.no_padding()
    if len(sys.argv) > 3:
        tok.enable_truncation(max_length=int(sys.argv[3]))
    ids_all, embs = [], []
    for s in SENTENCES:
        ids = tok.encode(s).ids
        ids_all.append(ids)
        embs.append([float(v) for v in forward(w, cfg, ids)])
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"sentences": SENTENCES, "ids": ids_all, "embeddings": embs}, f)


if __name__ == "__main__":
    main()
