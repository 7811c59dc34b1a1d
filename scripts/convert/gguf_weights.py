"""GGUF tensors as converter weights: exact MatMulNBits blocks where the formats coincide.

ggml block layouts and their MatMulNBits form (W = (q - zp) * scale per block along K):
  Q8_0: fp16 d, int8 q[32];             x = q * d                  -> bits 8, block 32, code q + 128,
                                                                      no zero points (default 128)
  Q4_0: fp16 d, uint8 qs[16];           x = (q - 8) * d            -> bits 4, block 32, no zero points
  Q4_1: fp16 d, fp16 m, uint8 qs[16];   x = q * d + m              -> bits 4, block 32, float zero points
                                                                      zp = -m / d
  Q5_0: fp16 d, qh[4], qs[16];          x = (q - 16) * d, q < 32   -> bits 8, block 32, code q + 112,
                                                                      no zero points
  Q4_K: 256 = 8 sub-blocks of 32: fp16 d, fp16 dmin, 6-bit sc[8], m[8], qs[128];
                                        x = d*sc * q - dmin*m      -> bits 4, block 32, scale d*sc,
                                                                      float zp = dmin*m / (d*sc)
  Q6_K: 256 = 16 sub-blocks of 16: ql[128], qh[64], int8 sc[16], fp16 d;
                                        x = d*sc * (q - 32), q < 64 -> bits 8, block 16, scale d*sc,
                                                                      code q + 96, no zero points
  Q5_1, Q5_K (5-bit codes with an offset): MatMulNBits would need 8-bit float zero points, which
  onnxruntime's CPU kernel rejects, so they are requantized from gguf's dequantization to bits 8
  block 32 (symmetric, quant.py), never down to 4 bits; max error max|x| / 254 per block.
  Other types (Q2_K, Q3_K, IQ*) and F32/F16/BF16 are read as float (gguf's dequantize()) and
  requantized by the writer at the folder's precision.

Exactness: the no-zero-point forms reproduce gguf.quants.dequantize bit for bit (d*sc is exact in
fp32: an 11-bit fp16 mantissa times a 6- or 8-bit integer; then one rounding of the product by the
integer code, as gguf does). Float zero points add the roundings of zp = o/s and of (q - zp) * s,
so they agree to a few fp32 ulps of |s|*15 + |o| (tests/convert/test_gguf_blocks.py, bound 4 ulps).
A block whose scale is 0 but whose offset o is not (Q4_1 d == 0, Q4_K d*sc == 0: every value is
-o) is written exactly as codes 0, scale o, zp 1.
ggml stores element j of a 32-block in the low nibble of byte j and element j + 16 in its high
nibble (Q4_K: a 64-pair of sub-blocks shares 32 bytes, low nibbles first sub-block); MatMulNBits
packs consecutive elements (2i, 2i+1) into one byte, so nibbles are re-packed, values unchanged.
"""
from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, ReaderTensor
from gguf.quants import dequantize

from quant import QuantizedWeight, pack_bits, quantize

QK_K = 256
REQUANTIZED_TO_8_BITS = (T.Q5_1, T.Q5_K)


def _f16(b: np.ndarray) -> np.ndarray:
    """[..., 2] bytes -> [...] float32 of the little-endian fp16 they hold."""
    return np.ascontiguousarray(b).view(np.float16)[..., 0].astype(np.float32)


def _ggml_nibbles(qs: np.ndarray) -> np.ndarray:
    """[..., 16] ggml nibble bytes -> [..., 32] codes in element order."""
    return np.concatenate([qs & 0xF, qs >> 4], axis=-1)


def _affine(n: int, k: int, codes: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> QuantizedWeight:
    """x = scale * code - offset per 32-block (codes [n, nb, 32] in 0..15) as bits 4 float zero points.

    zp = offset / scale; where scale is 0 every value is -offset: codes 0, scale offset, zp 1.
    """
    flat = scale == 0
    zp = np.divide(offset, scale, out=np.ones_like(offset), where=~flat)
    scale = np.where(flat, offset, scale)
    codes = np.where(flat[..., None], 0, codes)
    return QuantizedWeight(4, 32, n, k, pack_bits(codes, 4), scale.astype(np.float32), zp.astype(np.float32))


def _k_scales(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_K/Q5_K 12 packed scale bytes [..., 12] -> 6-bit (sc, m), each [..., 8].

    Sub-blocks 0-3: low 6 bits of bytes 0-3 (sc) and 4-7 (m); sub-blocks 4-7: the nibbles of bytes
    8-11 (sc low, m high) with their top two bits in the top bits of bytes 0-3 (sc) and 4-7 (m).
    """
    a, b, c = s[..., 0:4], s[..., 4:8], s[..., 8:12]
    sc = np.concatenate([a & 0x3F, (c & 0x0F) | ((a >> 6) << 4)], axis=-1)
    m = np.concatenate([b & 0x3F, (c >> 4) | ((b >> 6) << 4)], axis=-1)
    return sc.astype(np.float32), m.astype(np.float32)


def _q4_k(raw: np.ndarray, n: int, k: int) -> QuantizedWeight:
    b = raw.reshape(n, k // QK_K, 144)
    d, dmin = _f16(b[..., 0:2]), _f16(b[..., 2:4])
    sc, m = _k_scales(b[..., 4:16])
    qs = b[..., 16:].reshape(n, k // QK_K, 4, 1, 32)
    codes = np.concatenate([qs & 0xF, qs >> 4], axis=3).reshape(n, k // 32, 32)
    scale = (d[..., None] * sc).reshape(n, -1)
    offset = (dmin[..., None] * m).reshape(n, -1)
    return _affine(n, k, codes, scale, offset)


def _q6_k(raw: np.ndarray, n: int, k: int) -> QuantizedWeight:
    b = raw.reshape(n, k // QK_K, 210)
    # halves of 128 values: ql[64] low nibbles then high nibbles give the low 4 bits of 4 runs of 32;
    # qh[32] bit pairs 0, 2, 4, 6 give their top 2 bits
    ql = b[..., 0:128].reshape(n, -1, 2, 1, 64)
    qh = b[..., 128:192].reshape(n, -1, 2, 1, 32)
    lo = np.concatenate([ql & 0xF, ql >> 4], axis=3).reshape(n, -1, 2, 4, 32)
    hi = np.concatenate([(qh >> s) & 3 for s in (0, 2, 4, 6)], axis=3)
    q = (lo | (hi << 4)).reshape(n, k // 16, 16)
    sc = b[..., 192:208].copy().view(np.int8).astype(np.float32)
    scale = (_f16(b[..., 208:210])[..., None] * sc).reshape(n, -1)
    return QuantizedWeight(8, 16, n, k, (q + 96).astype(np.uint8), scale, None)


def _q5_0(raw: np.ndarray, n: int, k: int) -> QuantizedWeight:
    b = raw.reshape(n, k // 32, 22)
    d = _f16(b[..., 0:2])
    qh = b[..., 2:6].copy().view("<u4")  # bit j: the fifth bit of element j
    high = ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)
    q = _ggml_nibbles(b[..., 6:]) | (high << 4)
    return QuantizedWeight(8, 32, n, k, q + np.uint8(112), d, None)


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
    """A matrix tensor as QuantizedWeight where it maps exactly (or is 5-bit), float32 [N, K] otherwise."""
    n, k = tensor_rows_cols(t)
    raw = np.asarray(t.data)
    if t.tensor_type == T.Q8_0:
        b = raw.reshape(n, k // 32, 34)
        q = b[..., 2:].copy().view(np.int8).astype(np.int16) + 128
        return QuantizedWeight(8, 32, n, k, q.astype(np.uint8), _f16(b[..., 0:2]), None)
    if t.tensor_type == T.Q4_0:
        b = raw.reshape(n, k // 32, 18)
        return QuantizedWeight(4, 32, n, k, pack_bits(_ggml_nibbles(b[..., 2:]), 4), _f16(b[..., 0:2]), None)
    if t.tensor_type == T.Q4_1:
        b = raw.reshape(n, k // 32, 20)
        return _affine(n, k, _ggml_nibbles(b[..., 4:]), _f16(b[..., 0:2]), -_f16(b[..., 2:4]))
    if t.tensor_type == T.Q5_0:
        return _q5_0(raw, n, k)
    if t.tensor_type == T.Q4_K:
        return _q4_k(raw, n, k)
    if t.tensor_type == T.Q6_K:
        return _q6_k(raw, n, k)
    if t.tensor_type in REQUANTIZED_TO_8_BITS:
        return quantize(to_float(t), 8, 32, name=t.name)
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
