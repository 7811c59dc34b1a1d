"""Independent numpy forward pass of a llama2.c checkpoint, transcribed from run.c's forward().

Reads the checkpoint by run.c's memory_map_weights() (not through scripts/convert), rotates
interleaved pairs (2i, 2i+1) with theta 10000, rms eps 1e-5, and keeps a KV cache per layer.
"""
from __future__ import annotations

import numpy as np


class Llama2cReference:
    def __init__(self, path: str):
        raw = np.fromfile(path, dtype=np.uint8)
        dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = np.frombuffer(raw[:28], dtype="<i4").tolist()
        shared = vocab > 0
        vocab = abs(vocab)
        self.dim, self.hidden, self.n_layers, self.n_heads, self.n_kv_heads = dim, hidden, n_layers, n_heads, n_kv_heads
        self.vocab, self.seq_len = vocab, seq_len
        self.head_size = dim // n_heads
        kv_dim = dim * n_kv_heads // n_heads
        f = np.frombuffer(raw[28:].tobytes(), dtype="<f4")
        pos = 0

        def take(*shape):
            nonlocal pos
            n = int(np.prod(shape))
            out = f[pos : pos + n].reshape(shape).astype(np.float64)
            pos += n
            return out

        self.token_embedding_table = take(vocab, dim)
        self.rms_att_weight = take(n_layers, dim)
        self.wq = take(n_layers, dim, n_heads * self.head_size)
        self.wk = take(n_layers, kv_dim, dim)
        self.wv = take(n_layers, kv_dim, dim)
        self.wo = take(n_layers, dim, n_heads * self.head_size)
        self.rms_ffn_weight = take(n_layers, dim)
        self.w1 = take(n_layers, hidden, dim)
        self.w2 = take(n_layers, dim, hidden)
        self.w3 = take(n_layers, hidden, dim)
        self.rms_final_weight = take(dim)
        pos += seq_len * self.head_size // 2 * 2  # freq_cis_real, freq_cis_imag (unused by run.c)
        self.wcls = self.token_embedding_table if shared else take(vocab, dim)
        self.reset()

    def reset(self):
        kv_dim = self.dim * self.n_kv_heads // self.n_heads
        self.key_cache = np.zeros((self.n_layers, self.seq_len, kv_dim))
        self.value_cache = np.zeros((self.n_layers, self.seq_len, kv_dim))

    @staticmethod
    def rmsnorm(x, w):
        ss = np.mean(x * x) + 1e-5
        return w * (x / np.sqrt(ss))

    def forward(self, token: int, pos: int) -> np.ndarray:
        """Logits (float64) for `token` at position `pos`, as run.c's forward(transformer, token, pos)."""
        hs, kv_mul = self.head_size, self.n_heads // self.n_kv_heads
        kv_dim = self.dim * self.n_kv_heads // self.n_heads
        x = self.token_embedding_table[token].copy()
        for l in range(self.n_layers):
            xb = self.rmsnorm(x, self.rms_att_weight[l])
            q = self.wq[l] @ xb
            k = self.wk[l] @ xb
            v = self.wv[l] @ xb
            for i in range(0, self.dim, 2):
                head_dim = i % hs
                freq = 1.0 / 10000.0 ** (head_dim / hs)
                val = pos * freq
                fcr, fci = np.cos(val), np.sin(val)
                rotn = 2 if i < kv_dim else 1
                for vec in (q, k)[:rotn]:
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i] = v0 * fcr - v1 * fci
                    vec[i + 1] = v0 * fci + v1 * fcr
            self.key_cache[l, pos] = k
            self.value_cache[l, pos] = v
            xb = np.zeros(self.dim)
            for h in range(self.n_heads):
                qh = q[h * hs : (h + 1) * hs]
                kvh = (h // kv_mul) * hs
                att = self.key_cache[l, : pos + 1, kvh : kvh + hs] @ qh / np.sqrt(hs)
                att = np.exp(att - att.max())
                att /= att.sum()
                xb[h * hs : (h + 1) * hs] = att @ self.value_cache[l, : pos + 1, kvh : kvh + hs]
            x = x + self.wo[l] @ xb
            xb = self.rmsnorm(x, self.rms_ffn_weight[l])
            hb = self.w1[l] @ xb
            hb2 = self.w3[l] @ xb
            hb = hb * (1.0 / (1.0 + np.exp(-hb))) * hb2
            x = x + self.w2[l] @ hb
        x = self.rmsnorm(x, self.rms_final_weight)
        return self.wcls @ x
