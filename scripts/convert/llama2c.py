"""Reader for llama2.c fp32 checkpoints (karpathy/llama2.c run.c, "version 0" format).

Header: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len); a negative
vocab_size means the classifier is stored separately (after freq_cis), a positive one that it shares
the token embedding. Then fp32 arrays, every matrix row-major [out, in]:
token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim], w2 [L, dim, hidden],
w3 [L, hidden, dim], rms_final [dim], freq_cis_real/imag [seq_len, head_size/2], (wcls [vocab, dim]).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass
class Llama2cCheckpoint:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    seq_len: int
    shared_classifier: bool
    tensors: dict[str, np.ndarray]

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.head_size * self.n_kv_heads


def read_llama2c(path: str) -> Llama2cCheckpoint:
    size = os.path.getsize(path)
    if size < 28:
        raise ValueError(f"{path}: {size} bytes is too small for a llama2.c header (28 bytes)")
    header = np.fromfile(path, dtype="<i4", count=7)
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = (int(v) for v in header)
    shared = vocab > 0
    vocab = abs(vocab)
    if min(dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len) <= 0 or dim % n_heads or n_heads % n_kv_heads:
        raise ValueError(
            f"{path}: implausible llama2.c header dim={dim} hidden_dim={hidden} n_layers={n_layers} "
            f"n_heads={n_heads} n_kv_heads={n_kv_heads} vocab_size={vocab} seq_len={seq_len}"
        )
    head = dim // n_heads
    kv_dim = head * n_kv_heads
    layout = [
        ("token_embedding", (vocab, dim)),
        ("rms_att", (n_layers, dim)),
        ("wq", (n_layers, dim, dim)),
        ("wk", (n_layers, kv_dim, dim)),
        ("wv", (n_layers, kv_dim, dim)),
        ("wo", (n_layers, dim, dim)),
        ("rms_ffn", (n_layers, dim)),
        ("w1", (n_layers, hidden, dim)),
        ("w2", (n_layers, dim, hidden)),
        ("w3", (n_layers, hidden, dim)),
        ("rms_final", (dim,)),
        ("freq_cis_real", (seq_len, head // 2)),
        ("freq_cis_imag", (seq_len, head // 2)),
    ]
    if not shared:
        layout.append(("wcls", (vocab, dim)))
    expected = 28 + 4 * sum(int(np.prod(s)) for _, s in layout)
    if size != expected:
        raise ValueError(f"{path}: file is {size} bytes but its header describes {expected} bytes")
    data = np.memmap(path, dtype="<f4", mode="r", offset=28)
    tensors, off = {}, 0
    for name, shape in layout:
        n = int(np.prod(shape))
        tensors[name] = np.array(data[off : off + n]).reshape(shape)
        off += n
    if shared:
        tensors["wcls"] = tensors["token_embedding"]
    return Llama2cCheckpoint(dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len, shared, tensors)
