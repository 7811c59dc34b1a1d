"""A tiny random Llama spelled as optimum / torch.onnx export it (standard ops, KV state
as past/present tensors), for the engine's parity tests against onnxruntime.

Usage: make_optimum_llama.py OUT. Writes
  OUT/fp32/model.onnx        fp32, no genai_config.json (a bare export): RMSNorm as
                             Pow/ReduceMean/Add/Sqrt/Div/Mul, RoPE with cos/sin caches sliced
                             and gathered by position_ids (transformers <= 4.37), inputs
                             past_key_values.%d.key/value, outputs present.%d.key/value
  OUT/fp16/model.onnx        the same form in fp16 (weights, activations, past/present, logits),
                             RMSNorm and Softmax in fp32 between Casts as transformers runs them
  OUT/int4/                  MatMulNBits weights (4 bits, block 32, zero points, accuracy_level 0,
                             as onnxruntime's MatMul4BitsQuantizer writes them),
                             SimplifiedLayerNormalization, RoPE computed from position_ids with
                             Cos/Sin and the causal mask with Trilu (transformers >= 4.38),
                             past/present names taken from the genai_config.json beside it
                             (kv_in.%d.*, kv_out.%d.*)
  OUT/bad_op/model.onnx      fp32 with one Softmax replaced by an op no engine knows
  OUT/no_present/model.onnx  fp32 without the output present.1.value
Shapes: 2 layers, hidden 64, 4 heads of 16, 2 KV heads (grouped-query), MLP 128, vocab 256.
The attention is transformers' eager LlamaAttention as torch.onnx traces it: Concat(past, new)
on axis 2, repeat_kv as Unsqueeze/Expand/Reshape, Q.K^T / sqrt(head_dim) + a 4-D mask built
from attention_mask (Range/Less/Where/ConstantOfShape/Expand/Cast with finfo(dtype).min),
Softmax, .V. Exit 77 (skip) without onnx/numpy."""
import json
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

LAYERS, D, HEADS, KV_HEADS, FFN, VOCAB, MAX_POS = 2, 64, 4, 2, 128, 256, 256
HD = D // HEADS
EPS = 1e-5
THETA = 10000.0


class Graph:
    """Nodes and initializers with torch-export-like names (/model/layers.0/self_attn/...)."""

    def __init__(self, ft):
        self.nodes, self.inits, self.count = [], [], 0
        self.ft = ft  # the model's float type: np.float32 or np.float16

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def i64(self, values):
        self.count += 1
        return self.const(f"/Constant_{self.count}_output_0", np.array(values, np.int64))

    def f32(self, value):
        self.count += 1
        return self.const(f"/Constant_{self.count}_output_0", np.array(value, np.float32))

    def fc(self, value):
        """A scalar of the model's float type."""
        self.count += 1
        return self.const(f"/Constant_{self.count}_output_0", np.array(value, self.ft))

    def op(self, scope, op_type, inputs, n_out=1, domain="", out=None, **attrs):
        self.count += 1
        name = f"{scope}/{op_type}_{self.count}"
        outs = out if out is not None else [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def dim(self, scope, x, axis):
        """Shape(x)[axis] as a 1-element int64 tensor (Shape -> Gather -> Unsqueeze)."""
        s = self.op(scope, "Shape", [x])
        g = self.op(scope, "Gather", [s, self.i64(axis)], axis=0)
        return self.op(scope, "Unsqueeze", [g, self.i64([0])])


def quantize_4bit(w):
    """W [K, N] (y = x . W) -> MatMulNBits B [N, K/32, 16], scales [N * K/32], zero_points [N, K/64]
    (asymmetric, low nibble first), as onnxruntime's MatMul4BitsQuantizer."""
    k, n = w.shape
    blocks = w.T.reshape(n, k // 32, 32)
    lo, hi = np.minimum(blocks.min(-1), 0), np.maximum(blocks.max(-1), 0)
    scale = np.where(hi > lo, (hi - lo) / 15, 1.0).astype(np.float32)
    zp = np.clip(np.round(-lo / scale), 0, 15).astype(np.uint8)
    q = np.clip(np.round(blocks / scale[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zp_packed = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1), zp_packed


def causal_mask_436(g, sc, S, P, T, shape4, FT, f_min):
    """Additive mask [B, 1, S, T] as transformers <= 4.37 builds it (AttentionMaskConverter.to_4d):
    a triangle of f_min via Range/Less/Where, zeros for the past, the inverted attention_mask
    on top."""
    S_scalar = g.op(sc, "Squeeze", [S, g.i64([0])])
    tri = g.op(sc, "ConstantOfShape", [g.op(sc, "Concat", [S, S], axis=0)],
               value=helper.make_tensor("v", FT, [1], [f_min]))
    cond = g.op(sc, "Range", [g.i64(0), S_scalar, g.i64(1)])
    cond_col = g.op(sc, "Reshape", [g.op(sc, "Add", [cond, g.i64(1)]), g.op(sc, "Concat", [S, g.i64([1])], axis=0)])
    tri = g.op(sc, "Where", [g.op(sc, "Less", [cond, cond_col]), g.fc(0.0), tri])
    zeros_past = g.op(sc, "ConstantOfShape", [g.op(sc, "Concat", [S, P], axis=0)],
                      value=helper.make_tensor("v", FT, [1], [0.0]))
    causal = g.op(sc, "Concat", [zeros_past, tri], axis=-1)
    causal = g.op(sc, "Expand", [g.op(sc, "Unsqueeze", [causal, g.i64([0, 1])]), shape4])
    expanded = g.op(sc, "Cast", [g.op(sc, "Expand", [g.op(sc, "Unsqueeze", ["attention_mask", g.i64([1, 2])]), shape4])],
                    to=FT)
    inverted = g.op(sc, "Sub", [g.fc(1.0), expanded])
    inverted = g.op(sc, "Where", [g.op(sc, "Cast", [inverted], to=TensorProto.BOOL), g.fc(f_min), inverted])
    return g.op(sc, "Where", [g.op(sc, "Cast", [inverted], to=TensorProto.BOOL), g.fc(f_min), causal])


def causal_mask_438(g, sc, S, P, T, shape4, FT, f_min):
    """Additive mask [B, 1, S, T] as transformers >= 4.38 builds it (_update_causal_mask):
    triu(full(f_min), 1) * (arange(T) > cache_position), then f_min where attention_mask is 0."""
    full = g.op(sc, "ConstantOfShape", [g.op(sc, "Concat", [S, T], axis=0)],
                value=helper.make_tensor("v", FT, [1], [f_min]))
    tri = g.op(sc, "Trilu", [full, g.i64(1)], upper=1)
    cache_position = g.op(sc, "Range", [g.op(sc, "Squeeze", [P, g.i64([0])]), g.op(sc, "Squeeze", [T, g.i64([0])]), g.i64(1)])
    later = g.op(sc, "Greater", [g.op(sc, "Range", [g.i64(0), g.op(sc, "Squeeze", [T, g.i64([0])]), g.i64(1)]),
                                 g.op(sc, "Reshape", [cache_position, g.i64([-1, 1])])])
    causal = g.op(sc, "Mul", [tri, g.op(sc, "Cast", [later], to=FT)])
    causal = g.op(sc, "Expand", [g.op(sc, "Unsqueeze", [causal, g.i64([0, 1])]), shape4])
    padding = g.op(sc, "And", [g.op(sc, "Equal", [causal, g.fc(0.0)]),
                               g.op(sc, "Equal", [g.op(sc, "Unsqueeze", ["attention_mask", g.i64([1, 2])]), g.i64(0)])])
    return g.op(sc, "Where", [padding, g.fc(f_min), causal])


def build(rng, names, int4=False, half=False):
    """int4: MatMulNBits, SimplifiedLayerNormalization, rotary from Cos/Sin and the causal mask of
    transformers >= 4.38 (Trilu); half: fp16 weights, activations and KV, with RMSNorm and Softmax
    in fp32 between Casts, as transformers computes them."""
    ft = np.float16 if half else np.float32
    FT = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    f_min = float(np.finfo(ft).min)
    g = Graph(ft)
    past_k, past_v, present_k, present_v = (names[k] for k in ("past_key", "past_value", "present_key", "present_value"))

    def weight(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(ft)

    def linear(scope, x, k, n):
        w = weight((k, n), k)
        if not int4:
            return g.op(scope, "MatMul", [x, g.const(f"onnx::MatMul_{scope}", w)])
        b, s, zp = quantize_4bit(w)
        ins = [x, g.const(f"{scope}.qweight", b), g.const(f"{scope}.scales", s), g.const(f"{scope}.qzeros", zp)]
        return g.op(scope, "MatMulNBits", ins, domain="com.microsoft", K=k, N=n, bits=4, block_size=32, accuracy_level=0)

    def rmsnorm(scope, x, w_name):
        w = g.const(w_name, (1 + 0.1 * rng.standard_normal(D)).astype(ft))
        if int4:
            return g.op(scope, "SimplifiedLayerNormalization", [x, w], axis=-1, epsilon=EPS)
        x32 = g.op(scope, "Cast", [x], to=TensorProto.FLOAT) if half else x
        sq = g.op(scope, "Pow", [x32, g.f32(2.0)])
        mean = g.op(scope, "ReduceMean", [sq], axes=[-1], keepdims=1)
        root = g.op(scope, "Sqrt", [g.op(scope, "Add", [mean, g.f32(EPS)])])
        y = g.op(scope, "Mul", [x32, g.op(scope, "Div", [g.f32(1.0), root])])
        if half:
            y = g.op(scope, "Cast", [y], to=TensorProto.FLOAT16)
        return g.op(scope, "Mul", [w, y])

    # Batch, sequence and past lengths as the graph computes them.
    B = g.dim("/model", "input_ids", 0)
    S = g.dim("/model", "input_ids", 1)
    P = g.dim("/model", past_k % 0, 2)
    T = g.op("/model", "Add", [P, S])

    h = g.op("/model/embed_tokens", "Gather",
             [g.const("model.embed_tokens.weight", rng.standard_normal((VOCAB, D)).astype(ft)), "input_ids"])

    sc = "/model/mask"
    shape4 = g.op(sc, "Concat", [B, g.i64([1]), S, g.op(sc, "Shape", ["attention_mask"], start=1)], axis=0)
    if int4:
        mask = causal_mask_438(g, sc, S, P, T, shape4, FT, f_min)
    else:
        mask = causal_mask_436(g, sc, S, P, T, shape4, FT, f_min)

    inv_freq = (1.0 / THETA ** (np.arange(0, HD, 2, dtype=np.float32) / HD)).astype(np.float32)
    if int4:
        # cos/sin [B, 1, S, HD] from position_ids (LlamaRotaryEmbedding.forward, transformers >= 4.38).
        sc = "/model/rotary_emb"
        inv = g.op(sc, "Unsqueeze", [g.const("model.rotary_emb.inv_freq", inv_freq), g.i64([0, 2])])
        inv = g.op(sc, "Expand", [inv, g.op(sc, "Concat", [B, g.i64([1]), g.i64([1])], axis=0)])
        pos = g.op(sc, "Cast", [g.op(sc, "Unsqueeze", ["position_ids", g.i64([1])])], to=TensorProto.FLOAT)
        freqs = g.op(sc, "Transpose", [g.op(sc, "MatMul", [inv, pos])], perm=[0, 2, 1])
        emb = g.op(sc, "Concat", [freqs, freqs], axis=-1)
        rot_cos = g.op(sc, "Mul", [g.op(sc, "Cos", [emb]), g.f32(1.0)])
        rot_sin = g.op(sc, "Mul", [g.op(sc, "Sin", [emb]), g.f32(1.0)])
        if half:
            rot_cos = g.op(sc, "Cast", [rot_cos], to=FT)
            rot_sin = g.op(sc, "Cast", [rot_sin], to=FT)
        rot_cos = g.op(sc, "Unsqueeze", [rot_cos, g.i64([1])])
        rot_sin = g.op(sc, "Unsqueeze", [rot_sin, g.i64([1])])
    else:
        freqs = np.outer(np.arange(MAX_POS, dtype=np.float32), inv_freq)
        emb = np.concatenate([freqs, freqs], axis=-1)
        cos_cached = g.const("model.rotary_emb.cos_cached", np.cos(emb).astype(ft))
        sin_cached = g.const("model.rotary_emb.sin_cached", np.sin(emb).astype(ft))

    def rotate_half(scope, x):
        x1 = g.op(scope, "Slice", [x, g.i64([0]), g.i64([HD // 2]), g.i64([3]), g.i64([1])])
        x2 = g.op(scope, "Slice", [x, g.i64([HD // 2]), g.i64([2**62]), g.i64([3]), g.i64([1])])
        return g.op(scope, "Concat", [g.op(scope, "Neg", [x2]), x1], axis=-1)

    def heads(scope, x, n):
        """[B, S, n*HD] -> [B, n, S, HD]"""
        shape = g.op(scope, "Concat", [B, S, g.i64([n]), g.i64([HD])], axis=0)
        return g.op(scope, "Transpose", [g.op(scope, "Reshape", [x, shape])], perm=[0, 2, 1, 3])

    def repeat_kv(scope, x):
        """[B, KV, T, HD] -> [B, KV*rep, T, HD] (Unsqueeze, Expand, Reshape)."""
        rep = HEADS // KV_HEADS
        x5 = g.op(scope, "Unsqueeze", [x, g.i64([2])])
        Tx = g.dim(scope, x, 2)
        x5 = g.op(scope, "Expand", [x5, g.op(scope, "Concat", [B, g.i64([KV_HEADS]), g.i64([rep]), Tx, g.i64([HD])], axis=0)])
        return g.op(scope, "Reshape", [x5, g.op(scope, "Concat", [B, g.i64([HEADS]), Tx, g.i64([HD])], axis=0)])

    for l in range(LAYERS):
        pre = f"/model/layers.{l}"
        sc = f"{pre}/self_attn"
        x = rmsnorm(f"{pre}/input_layernorm", h, f"model.layers.{l}.input_layernorm.weight")
        q = heads(sc, linear(f"{sc}/q_proj", x, D, HEADS * HD), HEADS)
        k = heads(sc, linear(f"{sc}/k_proj", x, D, KV_HEADS * HD), KV_HEADS)
        v = heads(sc, linear(f"{sc}/v_proj", x, D, KV_HEADS * HD), KV_HEADS)
        if int4:
            cos, sin = rot_cos, rot_sin
        else:
            # cos_cached[:T][position_ids].unsqueeze(1) -> [B, 1, S, HD]
            cos_t = g.op(sc, "Slice", [cos_cached, g.i64([0]), T, g.i64([0]), g.i64([1])])
            sin_t = g.op(sc, "Slice", [sin_cached, g.i64([0]), T, g.i64([0]), g.i64([1])])
            cos = g.op(sc, "Unsqueeze", [g.op(sc, "Gather", [cos_t, "position_ids"], axis=0), g.i64([1])])
            sin = g.op(sc, "Unsqueeze", [g.op(sc, "Gather", [sin_t, "position_ids"], axis=0), g.i64([1])])
        q = g.op(sc, "Add", [g.op(sc, "Mul", [q, cos]), g.op(sc, "Mul", [rotate_half(sc, q), sin])])
        k = g.op(sc, "Add", [g.op(sc, "Mul", [k, cos]), g.op(sc, "Mul", [rotate_half(sc, k), sin])])
        k = g.op(sc, "Concat", [past_k % l, k], axis=2, out=[present_k % l])
        v = g.op(sc, "Concat", [past_v % l, v], axis=2, out=[present_v % l])
        kr, vr = repeat_kv(sc, k), repeat_kv(sc, v)
        scores = g.op(sc, "MatMul", [q, g.op(sc, "Transpose", [kr], perm=[0, 1, 3, 2])])
        scores = g.op(sc, "Add", [g.op(sc, "Div", [scores, g.fc(np.sqrt(HD))]), mask])
        if half:
            scores = g.op(sc, "Cast", [scores], to=TensorProto.FLOAT)
        probs = g.op(sc, "Softmax", [scores], axis=-1)
        if half:
            probs = g.op(sc, "Cast", [probs], to=FT)
        o = g.op(sc, "Transpose", [g.op(sc, "MatMul", [probs, vr])], perm=[0, 2, 1, 3])
        o = g.op(sc, "Reshape", [o, g.op(sc, "Concat", [B, S, g.i64([D])], axis=0)])
        h = g.op(pre, "Add", [h, linear(f"{sc}/o_proj", o, D, D)])
        sc = f"{pre}/mlp"
        x = rmsnorm(f"{pre}/post_attention_layernorm", h, f"model.layers.{l}.post_attention_layernorm.weight")
        gate = linear(f"{sc}/gate_proj", x, D, FFN)
        act = g.op(sc, "Mul", [gate, g.op(sc, "Sigmoid", [gate])])
        up = linear(f"{sc}/up_proj", x, D, FFN)
        h = g.op(pre, "Add", [h, linear(f"{sc}/down_proj", g.op(sc, "Mul", [act, up]), FFN, D)])
    x = rmsnorm("/model/norm", h, "model.norm.weight")
    w = (rng.standard_normal((D, VOCAB)) * 2 / np.sqrt(D)).astype(ft)
    g.op("/lm_head", "MatMul", [x, g.const("lm_head.weight", w)], out=["logits"])

    kv_shape = lambda past: ["batch_size", KV_HEADS, past, HD]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", FT, ["batch_size", "sequence_length", VOCAB])]
    for l in range(LAYERS):
        for tmpl in (past_k, past_v):
            inputs.append(helper.make_tensor_value_info(tmpl % l, FT, kv_shape("past_sequence_length")))
        for tmpl in (present_k, present_v):
            outputs.append(helper.make_tensor_value_info(tmpl % l, FT, kv_shape("total_sequence_length")))
    graph = helper.make_graph(g.nodes, "main_graph", inputs, outputs, g.inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if int4 else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="pytorch")
    model.ir_version = 8
    if not int4:  # the checker does not know onnxruntime's SimplifiedLayerNormalization (domain "")
        onnx.checker.check_model(model)
    return model


def genai_config(names):
    dec = {"filename": "model.onnx", "head_size": HD, "hidden_size": D, "num_attention_heads": HEADS,
           "num_hidden_layers": LAYERS, "num_key_value_heads": KV_HEADS,
           "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids",
                      "past_key_names": names["past_key"], "past_value_names": names["past_value"]},
           "outputs": {"logits": "logits", "present_key_names": names["present_key"],
                       "present_value_names": names["present_value"]}}
    return {"model": {"bos_token_id": 1, "context_length": MAX_POS, "decoder": dec, "eos_token_id": 2,
                      "pad_token_id": 0, "type": "llama", "vocab_size": VOCAB}}


def main():
    out = sys.argv[1]
    optimum = {"past_key": "past_key_values.%d.key", "past_value": "past_key_values.%d.value",
               "present_key": "present.%d.key", "present_value": "present.%d.value"}
    renamed = {"past_key": "kv_in.%d.key", "past_value": "kv_in.%d.value",
               "present_key": "kv_out.%d.key", "present_value": "kv_out.%d.value"}
    for sub in ("fp32", "fp16", "int4", "bad_op", "no_present"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    fp32 = build(np.random.default_rng(1), optimum)
    onnx.save(fp32, os.path.join(out, "fp32", "model.onnx"))
    onnx.save(build(np.random.default_rng(3), optimum, half=True), os.path.join(out, "fp16", "model.onnx"))
    int4 = build(np.random.default_rng(2), renamed, int4=True)
    onnx.save(int4, os.path.join(out, "int4", "model.onnx"))
    with open(os.path.join(out, "int4", "genai_config.json"), "w") as f:
        json.dump(genai_config(renamed), f, indent=2)
    outs = [o for o in fp32.graph.output if o.name != "present.1.value"]
    no_present = onnx.ModelProto()
    no_present.CopyFrom(fp32)
    del no_present.graph.output[:]
    no_present.graph.output.extend(outs)
    onnx.save(no_present, os.path.join(out, "no_present", "model.onnx"))
    for n in fp32.graph.node:
        if n.op_type == "Softmax":
            n.op_type, n.domain = "FancySoftmax", "com.example"
            break
    fp32.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(fp32, os.path.join(out, "bad_op", "model.onnx"))


if __name__ == "__main__":
    main()
