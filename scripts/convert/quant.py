"""Block-wise weight quantization in ONNX Runtime's MatMulNBits layout.

Layout (com.microsoft MatMulNBits, confirmed against onnxruntime 1.32):
  B            uint8 [N, n_blocks, block*bits/8]; 4-bit values packed low nibble first along K
  scales       [N, n_blocks] in the activation type
  zero_points  optional: uint8 packed [N, ceil(n_blocks*bits/8)] (4 bit: low nibble = even block)
               or typed like scales [N, n_blocks]; absent means 2^(bits-1)
  W[n, k] = (q[n, k] - zp[n, k // block]) * scale[n, k // block];  Y = A . W^T

Symmetric rounding conventions (no zero points stored):
  bits 4: scale = m / -8 where m is the block value of largest magnitude (sign kept), so m maps
          to q = 0 exactly and the full 16 levels are used: the same numbers as llama.cpp Q4_0.
  bits 8: scale = max|w| / 127, q = round(w / scale) + 128: the same numbers as llama.cpp Q8_0.
Asymmetric (--asym): range [min(w, 0), max(w, 0)] mapped onto 0 .. 2^bits - 1,
  scale = (max - min) / (2^bits - 1), zp = round(-min / scale), packed uint8 zero points.
Rounding is round-half-away-from-zero (as ggml's quantizers), not numpy's half-to-even.
K that is not a multiple of the block is zero-padded in the last block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class QuantizedWeight:
    """A [N, K] weight in MatMulNBits layout. zero_points is None, packed uint8, or float."""

    bits: int
    block: int
    n: int
    k: int
    data: np.ndarray  # uint8 [N, n_blocks, block*bits//8]
    scales: np.ndarray  # float [N, n_blocks]
    zero_points: np.ndarray | None = None

    @property
    def n_blocks(self) -> int:
        return (self.k + self.block - 1) // self.block

    def dequantize(self) -> np.ndarray:
        q = unpack_bits(self.data, self.bits).astype(np.float32)  # [N, nb, block]
        zp = self.zero_points_float()
        w = (q - zp[:, :, None]) * self.scales.astype(np.float32)[:, :, None]
        return w.reshape(self.n, -1)[:, : self.k]

    def zero_points_float(self) -> np.ndarray:
        nb = self.n_blocks
        if self.zero_points is None:
            return np.full((self.n, nb), float(1 << (self.bits - 1)), np.float32)
        if self.zero_points.dtype == np.uint8:
            return unpack_bits(self.zero_points.reshape(self.n, 1, -1), self.bits).reshape(self.n, -1)[:, :nb].astype(np.float32)
        return self.zero_points.astype(np.float32).reshape(self.n, nb)


def _round(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def pack_bits(q: np.ndarray, bits: int) -> np.ndarray:
    """Pack integer codes along the last axis: 8 bit as is, 4 bit two per byte, low nibble first."""
    q = q.astype(np.uint8)
    if bits == 8:
        return q
    if bits == 4:
        if q.shape[-1] % 2:
            q = np.concatenate([q, np.zeros(q.shape[:-1] + (1,), np.uint8)], axis=-1)
        return (q[..., 0::2] & 0xF) | ((q[..., 1::2] & 0xF) << 4)
    raise ValueError(f"unsupported bit width {bits} (4 or 8)")


def unpack_bits(p: np.ndarray, bits: int) -> np.ndarray:
    if bits == 8:
        return p.astype(np.uint8)
    if bits == 4:
        out = np.empty(p.shape[:-1] + (p.shape[-1] * 2,), np.uint8)
        out[..., 0::2] = p & 0xF
        out[..., 1::2] = p >> 4
        return out
    raise ValueError(f"unsupported bit width {bits} (4 or 8)")


def quantize(w: np.ndarray, bits: int, block: int, asym: bool = False, name: str = "weight") -> QuantizedWeight:
    """Quantize a float [N, K] weight block-wise along K."""
    if w.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D weight, got shape {w.shape}")
    if bits not in (4, 8):
        raise ValueError(f"{name}: unsupported bit width {bits} (4 or 8)")
    if block < 16 or block > 256 or block & (block - 1):
        raise ValueError(f"{name}: block size {block} must be a power of two in 16..256")
    n, k = w.shape
    nb = (k + block - 1) // block
    wp = np.zeros((n, nb * block), np.float32)
    wp[:, :k] = w
    wb = wp.reshape(n, nb, block)
    qmax = (1 << bits) - 1
    if asym:
        mn = np.minimum(wb.min(axis=2), 0.0)
        mx = np.maximum(wb.max(axis=2), 0.0)
        scale = (mx - mn) / qmax
        inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
        zp = np.clip(_round(-mn * inv), 0, qmax)
        q = np.clip(_round(wb * inv[:, :, None]) + zp[:, :, None], 0, qmax)
        zp_packed = pack_bits(zp.astype(np.uint8)[:, None, :], bits).reshape(n, -1)
    else:
        if bits == 4:
            idx = np.abs(wb).argmax(axis=2)
            m = np.take_along_axis(wb, idx[:, :, None], axis=2)[:, :, 0]
            scale = m / -8.0
        else:
            scale = np.abs(wb).max(axis=2) / 127.0
        inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
        mid = 1 << (bits - 1)
        q = np.clip(_round(wb * inv[:, :, None]) + mid, 0, qmax)
        zp_packed = None
    return QuantizedWeight(bits, block, n, k, pack_bits(q, bits), scale.astype(np.float32), zp_packed)


def concat_rows(weights: list[QuantizedWeight]) -> QuantizedWeight | None:
    """Stack quantized weights along N (for packed QKV); None when their formats differ."""
    first = weights[0]
    for w in weights:
        if (w.bits, w.block, w.k) != (first.bits, first.block, first.k):
            return None
        if (w.zero_points is None) != (first.zero_points is None):
            return None
        if w.zero_points is not None and w.zero_points.dtype != first.zero_points.dtype:
            return None
    zp = None if first.zero_points is None else np.concatenate([w.zero_points for w in weights])
    return QuantizedWeight(
        first.bits,
        first.block,
        sum(w.n for w in weights),
        first.k,
        np.concatenate([w.data for w in weights]),
        np.concatenate([w.scales for w in weights]),
        zp,
    )
