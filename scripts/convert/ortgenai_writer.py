"""Write a Llama-family decoder as an ONNX Runtime GenAI model folder.

The graph imitates what onnxruntime-genai's model builder emits for the CPU (checked against
../shared/models/smollm2-135m-instruct-int4-ortgenai):

  attention_mask -> ReduceSum/Sub/Cast = seqlens_k, Shape/Gather/Cast = total_sequence_length
  input_ids -> Gather(embed) -> SimplifiedLayerNormalization
  per layer: MatMul(Nbits) packed qkv -> GroupQueryAttention(do_rotary=1, rotary_interleaved=0,
             cos_cache/sin_cache [context, head_dim/2]) -> MatMul(Nbits) o_proj
             -> SkipSimplifiedLayerNormalization -> gate/up MatMul(Nbits) -> Sigmoid*Mul (SiLU) * up
             -> down MatMul(Nbits) -> SkipSimplifiedLayerNormalization (next layer's input norm)
  final SkipSimplifiedLayerNormalization -> lm_head MatMul(Nbits) -> logits

Weights are given in Hugging Face orientation ([out, in]) with the half-split rotary convention
for q/k rows (HF Llama). Callers holding interleaved-pair rotary weights (llama2.c, GGUF) must
permute q/k rows with `interleaved_to_half_split` first.

precision: fp32 (fp32 weights and activations), fp16 (fp16 weights, activations, KV cache and
logits, as the builder does), int4/int8 (MatMulNBits weights, fp32 activations and KV cache).
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

PRECISIONS = ("fp32", "fp16", "int8", "int4")


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


def rotary_caches(cfg: LlamaConfig) -> tuple[np.ndarray, np.ndarray]:
    half = cfg.head_dim // 2
    inv_freq = 1.0 / (cfg.rope_theta ** (np.arange(0, half, dtype=np.float64) * 2.0 / cfg.head_dim))
    t = np.arange(cfg.context_length, dtype=np.float64)
    freqs = np.outer(t, inv_freq)
    pad = padded_head_dim(cfg.head_dim) // 2 - half
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
        self.g = _Graph(self.io_dtype)

    # -- weights ---------------------------------------------------------------------------
    def _check_shape(self, name: str, w, shape: tuple[int, int]):
        got = (w.n, w.k) if isinstance(w, QuantizedWeight) else tuple(w.shape)
        if got != shape:
            raise ValueError(f"tensor {name}: expected shape {list(shape)}, got {list(got)}")

    def _as_float(self, w) -> np.ndarray:
        return w.dequantize() if isinstance(w, QuantizedWeight) else np.asarray(w, np.float32)

    def _as_quantized(self, w, name: str) -> QuantizedWeight:
        if isinstance(w, QuantizedWeight) and w.bits == self.bits and (w.zero_points is not None or not self.asym):
            return w  # carried over exactly
        return quantize(self._as_float(w), self.bits, self.block, self.asym, name)

    def linear(self, x: str, w, name: str, base: str, out: str | None = None) -> str:
        """y = x . W^T for W [N, K]; MatMul on W^T for float precisions, MatMulNBits otherwise."""
        out = out or f"{base}/MatMul/output_0"
        if self.bits is None:
            wt = self.g.float_init(f"{name}.MatMul.weight", self._as_float(w).T)
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
        c = self.cfg
        if padded_head_dim(c.head_dim) != c.head_dim:
            return np.concatenate([self._pad_rows(layer.q, c.num_heads), self._pad_rows(layer.k, c.num_kv_heads), self._pad_rows(layer.v, c.num_kv_heads)])
        if self.bits is not None and all(isinstance(w, QuantizedWeight) for w in (layer.q, layer.k, layer.v)):
            qws = [self._as_quantized(w, "qkv") for w in (layer.q, layer.k, layer.v)]
            packed = concat_rows(qws)
            if packed is not None:
                return packed
        return np.concatenate([self._as_float(layer.q), self._as_float(layer.k), self._as_float(layer.v)])

    # -- graph -------------------------------------------------------------------------------
    def build(self, weights: LlamaWeights) -> onnx.ModelProto:
        c, g = self.cfg, self.g
        d, hd, nh, nkv = c.hidden_size, c.head_dim, c.num_heads, c.num_kv_heads
        if len(weights.layers) != c.num_layers:
            raise ValueError(f"expected {c.num_layers} layers, got {len(weights.layers)}")
        self._check_shape("embed_tokens", weights.embed, (c.vocab_size, d))
        self._check_shape("lm_head", weights.lm_head, (c.vocab_size, d))
        eps = float(c.rms_eps)

        # attention mask -> seqlens_k (int32 [batch]) and total_sequence_length (int32 scalar)
        sub = "/model/attn_mask_reformat/attn_mask_subgraph"
        one_vec = g.const_i64([1])
        rs = g.node("ReduceSum", ["attention_mask", one_vec], [f"{sub}/ReduceSum/output_0"], f"{sub}/ReduceSum", keepdims=0)[0]
        sb = g.node("Sub", [rs, one_vec], [f"{sub}/Sub/output_0"], f"{sub}/Sub")[0]
        seqlens_k = g.node("Cast", [sb], [f"{sub}/Sub/Cast/output_0"], f"{sub}/Sub/Cast", to=TensorProto.INT32)[0]
        shp = g.node("Shape", ["attention_mask"], [f"{sub}/Shape/output_0"], f"{sub}/Shape")[0]
        gat = g.node("Gather", [shp, g.const_i64([1], scalar=True)], [f"{sub}/Gather/output_0"], f"{sub}/Gather", axis=0)[0]
        total_len = g.node("Cast", [gat], [f"{sub}/Gather/Cast/output_0"], f"{sub}/Gather/Cast", to=TensorProto.INT32)[0]

        cos, sin = rotary_caches(c)
        cos_name = g.float_init("cos_cache", cos)
        sin_name = g.float_init("sin_cache", sin)

        lm_head = weights.lm_head
        shared = self.bits is not None and weights.embed is weights.lm_head
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
        else:
            embed = g.float_init("model.embed_tokens.weight", self._as_float(weights.embed))
            x = g.node("Gather", [embed, "input_ids"], ["/model/embed_tokens/Gather/output_0"], "/model/embed_tokens/Gather", axis=0)[0]

        norm_in = g.float_init("model.layers.0.input_layernorm.weight", weights.layers[0].input_norm)
        h = g.node(
            "SimplifiedLayerNormalization", [x, norm_in], ["/model/layers.0/input_layernorm/output_0"],
            "/model/layers.0/input_layernorm/LayerNorm", epsilon=eps, axis=-1, stash_type=1,
        )[0]
        residual = x
        for i, layer in enumerate(weights.layers):
            p, pre = f"model.layers.{i}", f"/model/layers.{i}"
            for nm, w, shape in (
                ("q_proj", layer.q, (nh * hd, d)), ("k_proj", layer.k, (nkv * hd, d)), ("v_proj", layer.v, (nkv * hd, d)),
                ("o_proj", layer.o, (d, nh * hd)), ("gate_proj", layer.gate, (c.intermediate_size, d)),
                ("up_proj", layer.up, (c.intermediate_size, d)), ("down_proj", layer.down, (d, c.intermediate_size)),
            ):
                self._check_shape(f"{p}.{nm}", w, shape)
            if i > 0:
                norm_w = g.float_init(f"{p}.input_layernorm.weight", layer.input_norm)
                h, _, _, residual = g.node(
                    "SkipSimplifiedLayerNormalization", [residual, mlp_out, norm_w],
                    [f"{pre}/input_layernorm/output_0", "", "", f"{pre}/input_layernorm/output_3"],
                    f"{pre}/input_layernorm/SkipLayerNorm", "com.microsoft", epsilon=eps,
                )
            qkv = self.linear(h, self._packed_qkv(layer), f"{p}.attn.qkv_proj", f"{pre}/attn/qkv_proj")
            attn, _, _ = g.node(
                "GroupQueryAttention",
                [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len, cos_name, sin_name],
                [f"{pre}/attn/GroupQueryAttention/output_0", f"present.{i}.key", f"present.{i}.value"],
                f"{pre}/attn/GroupQueryAttention", "com.microsoft",
                num_heads=nh, kv_num_heads=nkv, scale=float(1.0 / np.sqrt(hd)), local_window_size=-1,
                softcap=0.0, do_rotary=1, rotary_interleaved=0,
            )
            o = self.linear(attn, self._pad_cols(layer.o, nh), f"{p}.attn.o_proj", f"{pre}/attn/o_proj")
            post_w = g.float_init(f"{p}.post_attention_layernorm.weight", layer.post_norm)
            h, _, _, residual = g.node(
                "SkipSimplifiedLayerNormalization", [residual, o, post_w],
                [f"{pre}/post_attention_layernorm/output_0", "", "", f"{pre}/post_attention_layernorm/output_3"],
                f"{pre}/post_attention_layernorm/SkipLayerNorm", "com.microsoft", epsilon=eps,
            )
            gate = self.linear(h, layer.gate, f"{p}.mlp.gate_proj", f"{pre}/mlp/gate_proj")
            up = self.linear(h, layer.up, f"{p}.mlp.up_proj", f"{pre}/mlp/up_proj")
            sig = g.node("Sigmoid", [gate], [f"{pre}/mlp/act_fn/Sigmoid/output_0"], f"{pre}/mlp/act_fn/Sigmoid")[0]
            act = g.node("Mul", [gate, sig], [f"{pre}/mlp/act_fn/Mul/output_0"], f"{pre}/mlp/act_fn/Mul")[0]
            prod = g.node("Mul", [act, up], [f"{pre}/mlp/Mul/output_0"], f"{pre}/mlp/Mul")[0]
            mlp_out = self.linear(prod, layer.down, f"{p}.mlp.down_proj", f"{pre}/mlp/down_proj")

        fin = f"/model/layers.{c.num_layers}/final_norm_layernorm"
        final_w = g.float_init(f"model.layers.{c.num_layers}.final_norm_layernorm.weight", weights.final_norm)
        h = g.node(
            "SkipSimplifiedLayerNormalization", [residual, mlp_out, final_w], [f"{fin}/output_0"],
            f"{fin}/SkipLayerNorm", "com.microsoft", epsilon=eps,
        )[0]
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
