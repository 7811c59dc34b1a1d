"""Write a Llama-family decoder as an ONNX Runtime GenAI model folder.

The graph imitates what onnxruntime-genai's model builder emits for the CPU (checked against
../shared/models/smollm2-135m-instruct-int4-ortgenai):

  attention_mask -> ReduceSum/Sub/Cast = seqlens_k, Shape/Gather/Cast = total_sequence_length
  input_ids -> Gather(embed) -> SimplifiedLayerNormalization
  per layer: MatMul(Nbits) packed qkv (three MatMulNBits when carried GGUF blocks of different
             formats cannot be stacked) -> GroupQueryAttention(do_rotary=1, rotary_interleaved=0,
             cos_cache/sin_cache [context, head_dim/2]) -> MatMul(Nbits) o_proj
             -> SkipSimplifiedLayerNormalization -> gate/up MatMul(Nbits) -> Sigmoid*Mul (SiLU) * up
             -> down MatMul(Nbits) -> SkipSimplifiedLayerNormalization (next layer's input norm)
  final SkipSimplifiedLayerNormalization -> lm_head MatMul(Nbits) -> logits

Weights are given in Hugging Face orientation ([out, in]) with the half-split rotary convention
for q/k rows (HF Llama). Callers holding interleaved-pair rotary weights (llama2.c, GGUF) must
permute q/k rows with `interleaved_to_half_split` first.

precision: fp32 (fp32 weights and activations), fp16 (fp16 weights, activations, KV cache and
logits, as the builder does), bf16 (bfloat16 weights, each widened by a Cast to fp32 before its
MatMul or after its embedding Gather; fp32 activations and KV cache: onnxruntime's CPU provider
runs no bfloat16 MatMul), int4/int8 (MatMulNBits weights, fp32 activations and KV cache).
Norm weights and the rotary caches stay in the activation type. The embedding is a float Gather,
except for int4/int8 with tied embeddings and symmetric lm_head blocks, where (as the builder does)
GatherBlockQuantized reads the rows of lm_head's MatMulNBits weight.

onnxruntime's CPU GroupQueryAttention requires head_size % 16 == 0. A smaller head (stories260K
has 8) is zero-padded to the next multiple of 16: each head's real rotary halves go to the start
of the padded halves, q/k/v rows and o_proj columns for the padding are zero, the padded cos/sin
columns are 1/0, and the `scale` attribute keeps 1/sqrt(real head_dim). Scores and outputs are
unchanged; the KV cache and genai_config's head_size use the padded size.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quant import QuantizedWeight, concat_rows, quantize

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "int4")


@dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    context_length: int
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    bos_token_id: int = 1
    eos_token_id: int | list[int] = 2
    pad_token_id: int | None = None
    model_type: str = "llama"
    # Family variations (defaults = Llama):
    query_scale: float | None = None       # attention scale; None = 1/sqrt(head_dim)
    sliding_window: int = -1               # GroupQueryAttention local_window_size on local layers
    local_layers: list[bool] | None = None  # which layers are local; None = every layer when sliding_window > 0
    rope_local_theta: float | None = None  # RoPE base of local layers (Gemma-3); None = rope_theta
    rotary_dim: int | None = None          # partial rotary; None = head_dim
    embed_scale: float = 1.0               # embeddings are multiplied by this (Gemma: sqrt(hidden))
    activation: str = "silu"               # "silu" or "gelu_tanh" (gate activation)
    norm_fp32: bool = False                # fp16 precision: norms and the residual stream in fp32 (Gemma)
    attn_softcap: float = 0.0              # GroupQueryAttention softcap (Gemma-2)
    final_softcap: float = 0.0             # logits = cap * tanh(logits / cap) (Gemma-2)

    def is_local(self, layer: int) -> bool:
        if self.sliding_window <= 0:
            return False
        return True if self.local_layers is None else self.local_layers[layer]


@dataclass
class LlamaLayer:
    input_norm: np.ndarray
    q: object
    k: object
    v: object
    o: object
    post_norm: np.ndarray
    gate: object
    up: object
    down: object
    # optional, by family: q/k/v biases (Qwen2), per-head q/k RMSNorm weights [head_dim] and norms on
    # the attention and MLP outputs before the residual add (Gemma-2/3; post_norm is then the
    # pre-feed-forward norm)
    q_bias: np.ndarray | None = None
    k_bias: np.ndarray | None = None
    v_bias: np.ndarray | None = None
    q_norm: np.ndarray | None = None
    k_norm: np.ndarray | None = None
    attn_out_norm: np.ndarray | None = None
    ffn_out_norm: np.ndarray | None = None


@dataclass
class LlamaWeights:
    embed: object  # [vocab, hidden] float or QuantizedWeight
    layers: list[LlamaLayer]
    final_norm: np.ndarray
    lm_head: object  # [vocab, hidden]; the same object as embed when tied
    extra: dict = field(default_factory=dict)


def interleaved_to_half_split(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder q/k output rows per head from rotary pairs (2i, 2i+1) to halves (i, i + d/2).

    Attention scores are unchanged (q and k get the same permutation) and rotation by the
    half-split convention of the reordered rows equals the interleaved rotation of the originals.
    """
    rows = w.shape[0]
    hd = rows // n_heads
    if hd * n_heads != rows or hd % 2:
        raise ValueError(f"cannot split {rows} rows into {n_heads} heads of even size")
    return w[half_split_index(n_heads, hd)]


def half_split_index(n_heads: int, head_dim: int) -> np.ndarray:
    """Row order taking each head's even rows, then its odd rows (see interleaved_to_half_split)."""
    perm = np.concatenate([np.arange(0, head_dim, 2), np.arange(1, head_dim, 2)])
    return (np.arange(n_heads)[:, None] * head_dim + perm[None, :]).reshape(-1)


def padded_head_dim(head_dim: int) -> int:
    return (head_dim + 15) // 16 * 16


def head_padding_index(head_dim: int, n_heads: int) -> np.ndarray:
    """Position of each real head row in the padded layout (half-split halves kept as halves)."""
    hp = padded_head_dim(head_dim)
    half = head_dim // 2
    r = np.arange(head_dim)
    pos = np.where(r < half, r, r - half + hp // 2)
    return (np.arange(n_heads)[:, None] * hp + pos[None, :]).reshape(-1)


def rotary_caches(cfg: LlamaConfig, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin [context, rotary_dim/2] (half-split convention), padded to the padded head's half."""
    rot = cfg.rotary_dim or cfg.head_dim
    half = rot // 2
    inv_freq = 1.0 / (theta ** (np.arange(0, half, dtype=np.float64) * 2.0 / rot))
    t = np.arange(cfg.context_length, dtype=np.float64)
    freqs = np.outer(t, inv_freq)
    pad = padded_head_dim(cfg.head_dim) // 2 - cfg.head_dim // 2
    cos = np.concatenate([np.cos(freqs), np.ones((cfg.context_length, pad))], axis=1)
    sin = np.concatenate([np.sin(freqs), np.zeros((cfg.context_length, pad))], axis=1)
    return cos.astype(np.float32), sin.astype(np.float32)


class _Graph:
    def __init__(self, io_dtype: int):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.io_dtype = io_dtype
        self.np_io = np.float16 if io_dtype == TensorProto.FLOAT16 else np.float32
        self._consts: dict[str, str] = {}

    def init(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def float_init(self, name: str, arr: np.ndarray) -> str:
        return self.init(name, np.asarray(arr, np.float32).astype(self.np_io))

    def bf16_init(self, name: str, arr: np.ndarray) -> str:
        """arr rounded to bfloat16, to nearest even (numpy has no bfloat16 dtype)."""
        x = np.ascontiguousarray(arr, np.float32).view(np.uint32).astype(np.uint64)
        bits = ((x + 0x7FFF + ((x >> 16) & 1)) >> 16).astype(np.uint16)
        t = TensorProto(name=name, data_type=TensorProto.BFLOAT16, dims=list(arr.shape), raw_data=bits.tobytes())
        self.inits.append(t)
        return name

    def const_i64(self, values, scalar: bool = False) -> str:
        key = f"{values}" if not scalar else f"{values[0]}"
        name = f"/model/constants/INT64/{key}"
        if name not in self._consts:
            arr = np.array(values[0] if scalar else values, np.int64)
            self.nodes.append(
                helper.make_node("Constant", [], [name], name=f"/model/constant_nodes/INT64/{key}", value=numpy_helper.from_array(arr, name))
            )
            self._consts[name] = name
        return name

    def const_float(self, value: float) -> str:
        """A scalar constant in the activation type (the builder's /model/constants/<TYPE>/<value>)."""
        tag = "FLOAT16" if self.np_io == np.float16 else "FLOAT"
        name = f"/model/constants/{tag}/{value}"
        if name not in self._consts:
            arr = np.array(value, self.np_io)
            self.nodes.append(helper.make_node("Constant", [], [name], name=f"/model/constant_nodes/{tag}/{value}", value=numpy_helper.from_array(arr, name)))
            self._consts[name] = name
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "", **attrs) -> list[str]:
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain or None, **attrs))
        return outputs


class LlamaOnnxWriter:
    def __init__(self, cfg: LlamaConfig, precision: str, block: int = 32, asym: bool = False, accuracy_level: int = 4):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
        self.cfg = cfg
        self.precision = precision
        self.bits = {"int4": 4, "int8": 8}.get(precision)
        self.block = block
        self.asym = asym
        self.accuracy_level = accuracy_level
        self.io_dtype = TensorProto.FLOAT16 if precision == "fp16" else TensorProto.FLOAT
        self.norm_f32 = precision == "fp16" and cfg.norm_fp32
        self.g = _Graph(self.io_dtype)

    # -- weights ---------------------------------------------------------------------------
    def _check_shape(self, name: str, w, shape: tuple[int, int]):
        got = (w.n, w.k) if isinstance(w, QuantizedWeight) else tuple(w.shape)
        if got != shape:
            raise ValueError(f"tensor {name}: expected shape {list(shape)}, got {list(got)}")

    def _as_float(self, w) -> np.ndarray:
        return w.dequantize() if isinstance(w, QuantizedWeight) else np.asarray(w, np.float32)

    def _weight_init(self, name: str, arr: np.ndarray) -> str:
        """A float weight in the folder's type: bfloat16 for bf16, else the activation type."""
        return self.g.bf16_init(name, arr) if self.precision == "bf16" else self.g.float_init(name, arr)

    def _as_quantized(self, w, name: str) -> QuantizedWeight:
        if isinstance(w, QuantizedWeight) and w.bits >= self.bits and (w.zero_points is not None or not self.asym):
            # carried over exactly; a wider source block (GGUF Q8_0 in an int4 folder) stays at its
            # width, as llama.cpp's own Q4 files keep token_embd at Q8_0, rather than being requantized down
            return w
        return quantize(self._as_float(w), self.bits, self.block, self.asym, name)

    def linear(self, x: str, w, name: str, base: str, out: str | None = None) -> str:
        """y = x . W^T for W [N, K]; MatMul on W^T for float precisions, MatMulNBits otherwise."""
        out = out or f"{base}/MatMul/output_0"
        if self.bits is None:
            wt = self._weight_init(f"{name}.MatMul.weight", self._as_float(w).T)
            if self.precision == "bf16":
                wt = self.g.node("Cast", [wt], [f"{base}/MatMul/Cast/output_0"], f"{base}/MatMul/Cast", to=TensorProto.FLOAT)[0]
            self.g.node("MatMul", [x, wt], [out], f"{base}/MatMul")
            return out
        qw = self._as_quantized(w, name)
        suffix = f"Q{qw.bits}"
        inputs = [
            x,
            self.g.init(f"{name}.MatMul.weight_{suffix}", qw.data),
            self.g.float_init(f"{name}.MatMul.weight_scales", qw.scales),
        ]
        if qw.zero_points is not None:
            zp = qw.zero_points if qw.zero_points.dtype == np.uint8 else qw.zero_points.astype(np.float32).astype(self.g.np_io)
            inputs.append(self.g.init(f"{name}.MatMul.weight_zero_points", zp))
        self.g.node(
            "MatMulNBits", inputs, [out], f"{base}/MatMul_{suffix}", "com.microsoft",
            K=qw.k, N=qw.n, bits=qw.bits, block_size=qw.block, accuracy_level=self.accuracy_level,
        )
        return out

    def _pad_rows(self, w, n_heads: int):
        hd = self.cfg.head_dim
        if padded_head_dim(hd) == hd:
            return w
        w = self._as_float(w)
        out = np.zeros((n_heads * padded_head_dim(hd), w.shape[1]), np.float32)
        out[head_padding_index(hd, n_heads)] = w
        return out

    def _pad_cols(self, w, n_heads: int):
        hd = self.cfg.head_dim
        if padded_head_dim(hd) == hd:
            return w
        w = self._as_float(w)
        out = np.zeros((w.shape[0], n_heads * padded_head_dim(hd)), np.float32)
        out[:, head_padding_index(hd, n_heads)] = w
        return out

    def _packed_qkv(self, layer: LlamaLayer):
        """One [q; k; v] weight, or (q, k, v) when carried blocks of different formats cannot be stacked."""
        c = self.cfg
        if padded_head_dim(c.head_dim) != c.head_dim:
            return np.concatenate([self._pad_rows(layer.q, c.num_heads), self._pad_rows(layer.k, c.num_kv_heads), self._pad_rows(layer.v, c.num_kv_heads)])
        if self.bits is not None and any(isinstance(w, QuantizedWeight) for w in (layer.q, layer.k, layer.v)):
            # blocks carried over where they can be, the rest quantized alike, then stacked; mixed
            # formats (GGUF Q4_K q/k with a Q6_K v) stay three MatMulNBits rather than being requantized
            qws = [self._as_quantized(w, "qkv") for w in (layer.q, layer.k, layer.v)]
            return concat_rows(qws) or tuple(qws)
        return np.concatenate([self._as_float(layer.q), self._as_float(layer.k), self._as_float(layer.v)])

    # -- graph -------------------------------------------------------------------------------
    def _norm_init(self, name: str, w: np.ndarray) -> str:
        dt = np.float32 if self.norm_f32 else self.g.np_io
        return self.g.init(name, np.asarray(w, np.float32).astype(dt))

    def _cast(self, x: str, to_f32: bool, base: str) -> str:
        """With norm_f32 (fp16 Gemma): x to f32 before a norm, or back to f16 after one."""
        if not self.norm_f32:
            return x
        return self.g.node("Cast", [x], [f"{base}/Cast/output_0"], f"{base}/Cast", to=TensorProto.FLOAT if to_f32 else TensorProto.FLOAT16)[0]

    def _rms(self, x: str, w: np.ndarray, wname: str, base: str) -> str:
        """SimplifiedLayerNormalization of a matmul output (cast to the norm type first)."""
        x = self._cast(x, True, f"{base}/input")
        return self.g.node(
            "SimplifiedLayerNormalization", [x, self._norm_init(wname, w)], [f"{base}/output_0"], f"{base}/LayerNorm",
            epsilon=float(self.cfg.rms_eps), axis=-1, stash_type=1,
        )[0]

    def _skip_rms(self, residual: str, x: str, w: np.ndarray, wname: str, base: str, last: bool = False) -> tuple[str, str]:
        """(norm(residual + x) in the activation type, residual + x)."""
        outs = [f"{base}/output_0"] if last else [f"{base}/output_0", "", "", f"{base}/output_3"]
        res = self.g.node("SkipSimplifiedLayerNormalization", [residual, x, self._norm_init(wname, w)], outs, f"{base}/SkipLayerNorm", "com.microsoft", epsilon=float(self.cfg.rms_eps))
        return self._cast(res[0], False, f"{base}/output"), (None if last else res[3])

    def _head_norm(self, x: str, w: np.ndarray, n_heads: int, wname: str, base: str) -> str:
        """Per-head RMSNorm as the builder emits it: Reshape [B, S*N, H] -> SLN -> Reshape [B, S, N*H]."""
        g, hd = self.g, self.cfg.head_dim
        r = g.node("Reshape", [x, g.const_i64([0, -1, hd])], [f"{base}/Reshape_1/output_0"], f"{base}/Reshape_1")[0]
        r = self._cast(r, True, f"{base}/input")
        n = g.node(
            "SimplifiedLayerNormalization", [r, self._norm_init(wname, w)], [f"{base}/SimplifiedLayerNormalization/output_0"],
            f"{base}/SimplifiedLayerNormalization", epsilon=float(self.cfg.rms_eps), axis=-1, stash_type=1,
        )[0]
        n = self._cast(n, False, f"{base}/output")
        return g.node("Reshape", [n, g.const_i64([0, -1, n_heads * hd])], [f"{base}/Reshape_2/output_0"], f"{base}/Reshape_2")[0]

    def _check_layer(self, i: int, layer: LlamaLayer) -> None:
        c = self.cfg
        d, hd, nh, nkv = c.hidden_size, c.head_dim, c.num_heads, c.num_kv_heads
        p = f"model.layers.{i}"
        for nm, w, shape in (
            ("q_proj", layer.q, (nh * hd, d)), ("k_proj", layer.k, (nkv * hd, d)), ("v_proj", layer.v, (nkv * hd, d)),
            ("o_proj", layer.o, (d, nh * hd)), ("gate_proj", layer.gate, (c.intermediate_size, d)),
            ("up_proj", layer.up, (c.intermediate_size, d)), ("down_proj", layer.down, (d, c.intermediate_size)),
        ):
            self._check_shape(f"{p}.{nm}", w, shape)
        for nm, w, n in (
            ("input_layernorm", layer.input_norm, d), ("post_attention_layernorm", layer.post_norm, d),
            ("q_bias", layer.q_bias, nh * hd), ("k_bias", layer.k_bias, nkv * hd), ("v_bias", layer.v_bias, nkv * hd),
            ("q_norm", layer.q_norm, hd), ("k_norm", layer.k_norm, hd),
            ("attn_out_norm", layer.attn_out_norm, d), ("ffn_out_norm", layer.ffn_out_norm, d),
        ):
            if w is not None and tuple(np.shape(w)) != (n,):
                raise ValueError(f"tensor {p}.{nm}: expected shape [{n}], got {list(np.shape(w))}")
        if (layer.q_norm is None) != (layer.k_norm is None):
            raise ValueError(f"{p}: q_norm and k_norm must come together")
        if (layer.q_bias is None) != (layer.k_bias is None) or (layer.q_bias is None) != (layer.v_bias is None):
            raise ValueError(f"{p}: q/k/v biases must come together")

    def build(self, weights: LlamaWeights) -> onnx.ModelProto:
        c, g = self.cfg, self.g
        d, hd, nh, nkv = c.hidden_size, c.head_dim, c.num_heads, c.num_kv_heads
        if len(weights.layers) != c.num_layers:
            raise ValueError(f"expected {c.num_layers} layers, got {len(weights.layers)}")
        self._check_shape("embed_tokens", weights.embed, (c.vocab_size, d))
        self._check_shape("lm_head", weights.lm_head, (c.vocab_size, d))
        for i, layer in enumerate(weights.layers):
            self._check_layer(i, layer)
        if tuple(np.shape(weights.final_norm)) != (d,):
            raise ValueError(f"tensor final_norm: expected shape [{d}], got {list(np.shape(weights.final_norm))}")
        if (c.rotary_dim or hd) > hd or (c.rotary_dim or hd) % 2:
            raise ValueError(f"rotary_dim {c.rotary_dim} must be even and at most head_dim {hd}")
        l0 = weights.layers[0]
        if padded_head_dim(hd) != hd and (c.rotary_dim not in (None, hd) or l0.q_norm is not None or l0.q_bias is not None):
            raise ValueError(f"head_dim {hd} (padded to {padded_head_dim(hd)}) cannot be combined with partial rotary, q/k norms or biases")

        # attention mask -> seqlens_k (int32 [batch]) and total_sequence_length (int32 scalar)
        sub = "/model/attn_mask_reformat/attn_mask_subgraph"
        one_vec = g.const_i64([1])
        rs = g.node("ReduceSum", ["attention_mask", one_vec], [f"{sub}/ReduceSum/output_0"], f"{sub}/ReduceSum", keepdims=0)[0]
        sb = g.node("Sub", [rs, one_vec], [f"{sub}/Sub/output_0"], f"{sub}/Sub")[0]
        seqlens_k = g.node("Cast", [sb], [f"{sub}/Sub/Cast/output_0"], f"{sub}/Sub/Cast", to=TensorProto.INT32)[0]
        shp = g.node("Shape", ["attention_mask"], [f"{sub}/Shape/output_0"], f"{sub}/Shape")[0]
        gat = g.node("Gather", [shp, g.const_i64([1], scalar=True)], [f"{sub}/Gather/output_0"], f"{sub}/Gather", axis=0)[0]
        total_len = g.node("Cast", [gat], [f"{sub}/Gather/Cast/output_0"], f"{sub}/Gather/Cast", to=TensorProto.INT32)[0]

        # rotary caches: one pair, or global + local pairs when local layers have their own base (Gemma-3)
        caches = {}
        two = c.rope_local_theta is not None and any(c.is_local(i) for i in range(c.num_layers))
        for kind, theta in (("global", c.rope_theta), ("local", c.rope_local_theta)) if two else (("", c.rope_theta),):
            cos, sin = rotary_caches(c, theta)
            suffix = f"_{kind}" if kind else ""
            caches[kind] = (g.float_init(f"cos_cache{suffix}", cos), g.float_init(f"sin_cache{suffix}", sin))

        lm_head = weights.lm_head
        tied = weights.embed is weights.lm_head
        shared = self.bits is not None and tied
        if shared:
            lm_head = self._as_quantized(weights.lm_head, "lm_head")
            shared = lm_head.zero_points is None and lm_head.k % lm_head.block == 0
        if shared:
            # the builder's form: the embedding gathers rows of lm_head's MatMulNBits weight
            shape = g.const_i64([c.vocab_size, d * lm_head.bits // 8])
            flat = g.node("Reshape", [f"lm_head.MatMul.weight_Q{lm_head.bits}", shape], ["/model/embed_tokens/Reshape/output_0"], "/model/embed_tokens/Reshape")[0]
            x = g.node(
                "GatherBlockQuantized", [flat, "input_ids", "lm_head.MatMul.weight_scales"], ["/model/embed_tokens/GatherBlockQuantized/output_0"],
                "/model/embed_tokens/GatherBlockQuantized", "com.microsoft", bits=lm_head.bits, block_size=lm_head.block, gather_axis=0, quantize_axis=1,
            )[0]
        elif tied and self.bits is None:
            # the builder's tied float form: one [hidden, vocab] weight, transposed for the lookup
            t = g.node("Transpose", ["lm_head.MatMul.weight"], ["/model/embed_tokens/Transpose/output_0"], "/model/embed_tokens/Transpose", perm=[1, 0])[0]
            x = g.node("Gather", [t, "input_ids"], ["/model/embed_tokens/Gather/output_0"], "/model/embed_tokens/Gather", axis=0)[0]
        else:
            embed = self._weight_init("model.embed_tokens.weight", self._as_float(weights.embed))
            x = g.node("Gather", [embed, "input_ids"], ["/model/embed_tokens/Gather/output_0"], "/model/embed_tokens/Gather", axis=0)[0]
        if self.precision == "bf16":
            # the gathered rows, not the table, are widened: the table stays bfloat16 in memory
            x = g.node("Cast", [x], ["/model/embed_tokens/Cast_bf16/output_0"], "/model/embed_tokens/Cast_bf16", to=TensorProto.FLOAT)[0]
        if c.embed_scale != 1.0:
            x = g.node("Mul", [x, g.const_float(float(c.embed_scale))], ["/model/embed_tokens/Mul/output_0"], "/model/embed_tokens/Mul")[0]
        x = self._cast(x, True, "/model/embed_tokens")

        base = "/model/layers.0/input_layernorm"
        h = g.node(
            "SimplifiedLayerNormalization", [x, self._norm_init("model.layers.0.input_layernorm.weight", weights.layers[0].input_norm)],
            [f"{base}/output_0"], f"{base}/LayerNorm", epsilon=float(c.rms_eps), axis=-1, stash_type=1,
        )[0]
        h = self._cast(h, False, f"{base}/output")
        residual = x
        for i, layer in enumerate(weights.layers):
            p, pre = f"model.layers.{i}", f"/model/layers.{i}"
            if i > 0:
                h, residual = self._skip_rms(residual, mlp_out, layer.input_norm, f"{p}.input_layernorm.weight", f"{pre}/input_layernorm")
            qkv_w = self._packed_qkv(layer)
            if isinstance(qkv_w, tuple):
                q, k, v = (self.linear(h, w, f"{p}.attn.{nm}_proj", f"{pre}/attn/{nm}_proj") for w, nm in zip(qkv_w, "qkv"))
                if layer.q_bias is not None:
                    q, k, v = (
                        g.node("Add", [y, g.float_init(f"{p}.attn.{nm}_proj.Add.bias", b)], [f"{pre}/attn/{nm}_proj/Add/output_0"], f"{pre}/attn/{nm}_proj/Add")[0]
                        for y, b, nm in zip((q, k, v), (layer.q_bias, layer.k_bias, layer.v_bias), "qkv")
                    )
            else:
                qkv = self.linear(h, qkv_w, f"{p}.attn.qkv_proj", f"{pre}/attn/qkv_proj")
                if layer.q_bias is not None:
                    bias = g.float_init(f"{p}.attn.qkv_proj.Add.bias", np.concatenate([layer.q_bias, layer.k_bias, layer.v_bias]))
                    qkv = g.node("Add", [qkv, bias], [f"{pre}/attn/qkv_proj/Add/output_0"], f"{pre}/attn/qkv_proj/Add")[0]
                if layer.q_norm is not None:
                    sp = f"{pre}/attn/qkv_proj/Split"
                    q, k, v = g.node("Split", [qkv, g.const_i64([nh * hd, nkv * hd, nkv * hd])], [f"{sp}/output_{j}" for j in range(3)], sp, axis=-1)
            if layer.q_norm is not None:
                q = self._head_norm(q, layer.q_norm, nh, f"{p}.attn.q_norm.layernorm.weight", f"{pre}/attn/q_norm")
                k = self._head_norm(k, layer.k_norm, nkv, f"{p}.attn.k_norm.layernorm.weight", f"{pre}/attn/k_norm")
            qkv_in = [q, k, v] if isinstance(qkv_w, tuple) or layer.q_norm is not None else [qkv, "", ""]
            local = c.is_local(i)
            cos_name, sin_name = caches["local" if two and local else ("global" if two else "")]
            attn, _, _ = g.node(
                "GroupQueryAttention",
                [*qkv_in, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len, cos_name, sin_name],
                [f"{pre}/attn/GroupQueryAttention/output_0", f"present.{i}.key", f"present.{i}.value"],
                f"{pre}/attn/GroupQueryAttention", "com.microsoft",
                num_heads=nh, kv_num_heads=nkv, scale=float(c.query_scale if c.query_scale is not None else 1.0 / np.sqrt(hd)),
                local_window_size=int(c.sliding_window) if local else -1, softcap=float(c.attn_softcap), do_rotary=1, rotary_interleaved=0,
            )
            o = self.linear(attn, self._pad_cols(layer.o, nh), f"{p}.attn.o_proj", f"{pre}/attn/o_proj")
            if layer.attn_out_norm is not None:
                o = self._rms(o, layer.attn_out_norm, f"{p}.post_attention_layernorm.weight", f"{pre}/post_attention_layernorm")
            else:
                o = self._cast(o, True, f"{pre}/attn/o_proj")
            pre_ffn = "pre_feedforward_layernorm" if layer.attn_out_norm is not None else "post_attention_layernorm"
            h, residual = self._skip_rms(residual, o, layer.post_norm, f"{p}.{pre_ffn}.weight", f"{pre}/{pre_ffn}")
            gate = self.linear(h, layer.gate, f"{p}.mlp.gate_proj", f"{pre}/mlp/gate_proj")
            up = self.linear(h, layer.up, f"{p}.mlp.up_proj", f"{pre}/mlp/up_proj")
            if c.activation == "gelu_tanh":
                act = g.node("Gelu", [gate], [f"{pre}/mlp/act_fn/Gelu/output_0"], f"{pre}/mlp/act_fn/Gelu", approximate="tanh")[0]
            elif c.activation == "silu":
                sig = g.node("Sigmoid", [gate], [f"{pre}/mlp/act_fn/Sigmoid/output_0"], f"{pre}/mlp/act_fn/Sigmoid")[0]
                act = g.node("Mul", [gate, sig], [f"{pre}/mlp/act_fn/Mul/output_0"], f"{pre}/mlp/act_fn/Mul")[0]
            else:
                raise ValueError(f"unsupported activation {c.activation!r} (silu, gelu_tanh)")
            prod = g.node("Mul", [act, up], [f"{pre}/mlp/Mul/output_0"], f"{pre}/mlp/Mul")[0]
            mlp_out = self.linear(prod, layer.down, f"{p}.mlp.down_proj", f"{pre}/mlp/down_proj")
            if layer.ffn_out_norm is not None:
                mlp_out = self._rms(mlp_out, layer.ffn_out_norm, f"{p}.post_feedforward_layernorm.weight", f"{pre}/post_feedforward_layernorm")
            else:
                mlp_out = self._cast(mlp_out, True, f"{pre}/mlp/down_proj")

        fin = f"/model/layers.{c.num_layers}/final_norm_layernorm"
        h, _ = self._skip_rms(residual, mlp_out, weights.final_norm, f"model.layers.{c.num_layers}.final_norm_layernorm.weight", fin, last=True)
        if c.final_softcap:
            # the builder's final logit softcapping: Div -> Tanh -> Mul
            cap = g.const_float(float(c.final_softcap))
            lm = self.linear(h, lm_head, "lm_head", "/lm_head")
            dv = g.node("Div", [lm, cap], ["/lm_head/softcap/Div/output_0"], "/lm_head/softcap/Div")[0]
            th = g.node("Tanh", [dv], ["/lm_head/softcap/Tanh/output_0"], "/lm_head/softcap/Tanh")[0]
            g.node("Mul", [th, cap], ["logits"], "/lm_head/softcap/Mul")
        else:
            self.linear(h, lm_head, "lm_head", "/lm_head", out="logits")

        io = self.io_dtype
        hp = padded_head_dim(hd)
        inputs = [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
        ]
        outputs = [helper.make_tensor_value_info("logits", io, ["batch_size", "sequence_length", c.vocab_size])]
        for kind in ("key", "value"):
            for i in range(c.num_layers):
                inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", io, ["batch_size", nkv, "past_sequence_length", hp]))
        for i in range(c.num_layers):
            for kind in ("key", "value"):
                outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", io, ["batch_size", nkv, "total_sequence_length", hp]))
        graph = helper.make_graph(g.nodes, "main_graph", inputs, outputs, g.inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
            producer_name="run-llm convert", ir_version=10,
        )
        return model

    def genai_config(self) -> dict:
        c = self.cfg
        return {
            "model": {
                "bos_token_id": c.bos_token_id,
                "context_length": c.context_length,
                "decoder": {
                    "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                    "filename": "model.onnx",
                    "head_size": padded_head_dim(c.head_dim),
                    "hidden_size": c.hidden_size,
                    "inputs": {
                        "input_ids": "input_ids",
                        "attention_mask": "attention_mask",
                        "past_key_names": "past_key_values.%d.key",
                        "past_value_names": "past_key_values.%d.value",
                    },
                    "outputs": {
                        "logits": "logits",
                        "present_key_names": "present.%d.key",
                        "present_value_names": "present.%d.value",
                    },
                    "num_attention_heads": c.num_heads,
                    "num_hidden_layers": c.num_layers,
                    "num_key_value_heads": c.num_kv_heads,
                },
                "eos_token_id": c.eos_token_id,
                "pad_token_id": c.pad_token_id if c.pad_token_id is not None else (c.eos_token_id if isinstance(c.eos_token_id, int) else c.eos_token_id[0]),
                "type": c.model_type,
                "vocab_size": c.vocab_size,
            },
            "search": {
                "diversity_penalty": 0.0,
                "do_sample": False,
                "early_stopping": True,
                "length_penalty": 1.0,
                "max_length": c.context_length,
                "min_length": 0,
                "no_repeat_ngram_size": 0,
                "num_beams": 1,
                "num_return_sequences": 1,
                "past_present_share_buffer": True,
                "repetition_penalty": 1.0,
                "temperature": 1.0,
                "top_k": 50,
                "top_p": 1.0,
            },
        }


def write_model(cfg: LlamaConfig, weights: LlamaWeights, out_dir: str, precision: str, block: int = 32, asym: bool = False) -> None:
    """Write model.onnx + model.onnx.data + genai_config.json into out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    writer = LlamaOnnxWriter(cfg, precision, block, asym)
    model = writer.build(weights)
    onnx_path = os.path.join(out_dir, "model.onnx")
    data_path = os.path.join(out_dir, "model.onnx.data")
    if os.path.exists(data_path):
        os.remove(data_path)  # onnx appends to an existing external data file
    onnx.save_model(model, onnx_path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
    with open(os.path.join(out_dir, "genai_config.json"), "w") as f:
        json.dump(writer.genai_config(), f, indent=4)
        f.write("\n")
