"""GGUF tensors as converter weights: exact MatMulNBits blocks where the formats coincide.

ggml block layouts (32 values per block):
  Q8_0: fp16 d, int8 q[32];            x = q * d              -> bits 8, block 32, no zero points
                                                                 (uint8 code q + 128, default zp 128)
  Q4_0: fp16 d, uint8 qs[16];          x = (nibble - 8) * d   -> bits 4, block 32, no zero points
  Q4_1: fp16 d, fp16 m, uint8 qs[16];  x = nibble * d + m     -> bits 4, block 32, float zero points
                                                                 zp = -m / d (W = (q - zp) * d)
  ggml stores element j in the low nibble of qs[j] and element j + 16 in its high nibble;
  MatMulNBits packs consecutive elements (2i, 2i+1) into one byte, so nibbles are re-packed (the
  values are carried over unchanged). A Q4_1 block with d == 0 but m != 0 cannot be written with a
  zero point; such a tensor is dequantized instead (and requantized if the precision asks for it).
  F32, F16 and BF16 are read as float; every other type (Q4_K, Q5_0, Q5_K, Q6_K, ...) goes through
  the gguf package's own dequantize() and is requantized by the writer for int4/int8.
"""
from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, ReaderTensor
from gguf.quants import dequantize

from quant import QuantizedWeight, pack_bits


def _ggml_nibbles(qs: np.ndarray) -> np.ndarray:
    """[..., 16] ggml nibble bytes -> [..., 32] codes in element order."""
    return np.concatenate([qs & 0xF, qs >> 4], axis=-1)


def tensor_rows_cols(t: ReaderTensor) -> tuple[int, int]:
    shape = [int(x) for x in t.shape]  # ggml order: ne0 (contiguous) first
    if len(shape) == 1:
        return 1, shape[0]
    if len(shape) != 2 or any(s != 1 for s in shape[2:]):
        raise ValueError(f"tensor {t.name}: expected a matrix, got ggml shape {shape}")
    return shape[1], shape[0]


def to_float(t: ReaderTensor) -> np.ndarray:
    """The tensor as float32 in row-major [rows, cols] (vectors as [cols])."""
    rows, cols = tensor_rows_cols(t)
    if t.tensor_type == T.F32:
        arr = np.asarray(t.data, np.float32)
    elif t.tensor_type == T.F16:
        arr = np.asarray(t.data).view(np.float16).astype(np.float32)
    else:
        arr = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32)
    arr = arr.reshape(rows, cols)
    return arr[0] if len(t.shape) == 1 else arr


def to_weight(t: ReaderTensor):
    """A matrix tensor as QuantizedWeight where it maps exactly, float32 [N, K] otherwise."""
    n, k = tensor_rows_cols(t)
    raw = np.asarray(t.data)
    if t.tensor_type == T.Q8_0:
        b = raw.reshape(n, k // 32, 34)
        d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        q = b[..., 2:].copy().view(np.int8).astype(np.int16) + 128
        return QuantizedWeight(8, 32, n, k, q.astype(np.uint8), d, None)
    if t.tensor_type == T.Q4_0:
        b = raw.reshape(n, k // 32, 18)
        d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        return QuantizedWeight(4, 32, n, k, pack_bits(_ggml_nibbles(b[..., 2:]), 4), d, None)
    if t.tensor_type == T.Q4_1:
        b = raw.reshape(n, k // 32, 20)
        d = b[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        m = b[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
        if np.any((d == 0) & (m != 0)):
            return to_float(t)
        zp = np.divide(-m, d, out=np.zeros_like(m), where=d != 0)
        return QuantizedWeight(4, 32, n, k, pack_bits(_ggml_nibbles(b[..., 4:]), 4), d, zp)
    return to_float(t)


def take_rows(w, idx: np.ndarray):
    """Rows idx of a float matrix or a QuantizedWeight (blocks run along K, so rows move whole)."""
    if isinstance(w, QuantizedWeight):
        zp = None if w.zero_points is None else w.zero_points[idx]
        return QuantizedWeight(w.bits, w.block, len(idx), w.k, w.data[idx], w.scales[idx], zp)
    return w[idx]


class GGUFFile:
    def __init__(self, path: str):
        self.path = path
        self.reader = GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}

    def field(self, key: str, default=None):
        f = self.reader.fields.get(key)
        if f is None:
            if default is None:
                raise ValueError(f"{self.path}: missing metadata key {key}")
            return default
        return f.contents()

    def has(self, name: str) -> bool:
        return name in self.tensors

    def tensor(self, name: str) -> ReaderTensor:
        t = self.tensors.get(name)
        if t is None:
            raise ValueError(f"{self.path}: missing tensor {name}")
        return t
