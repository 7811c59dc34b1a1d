#!/usr/bin/env python3
"""BERT-family sentence encoder (e.g. all-MiniLM-L6-v2): model.safetensors + config.json
-> an ONNX graph in standard ops, spelt as torch.onnx.export spells HF's BertModel
followed by sentence-transformers' mean pooling and Normalize.

  bert_safetensors_to_onnx.py SRC_DIR OUT_DIR [--pooling mean|none] [--no-normalize]

SRC_DIR holds model.safetensors (F32) and config.json (and tokenizer.json, copied to
OUT_DIR with config.json). OUT_DIR/model.onnx takes input_ids, attention_mask and
token_type_ids ([B, S] int64) and gives last_hidden_state [B, S, H] and, unless
--pooling none, sentence_embedding [B, H] (mean over the attention mask, then L2
normalised unless --no-normalize). Needs numpy, onnx and safetensors; no torch.
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

F32_MIN = float(np.finfo(np.float32).min)


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.outputs = [], [], set()

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, name, **attrs):
        out = f"/{name}/{op_type}_output_0"
        assert out not in self.outputs, out
        self.outputs.add(out)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"/{name}/{op_type}", **attrs))
        return out


def weight(w, key):
    if key not in w:
        sys.exit(f"bert_safetensors_to_onnx: tensor {key} missing from model.safetensors")
    t = w[key]
    if t.dtype != np.float32:
        sys.exit(f"bert_safetensors_to_onnx: {key} is {t.dtype}, expected float32")
    return t


def linear(g, w, x, prefix, name):
    """x [..., in] · Wᵀ [in, out] + b: HF Linear weights are [out, in]."""
    wt = g.const(f"onnx::MatMul_{prefix}.weight", np.ascontiguousarray(weight(w, f"{prefix}.weight").T))
    b = g.const(f"{prefix}.bias", weight(w, f"{prefix}.bias"))
    return g.op("Add", [b, g.op("MatMul", [x, wt], name)], name)


def layer_norm(g, w, x, prefix, name, eps):
    return g.op("LayerNormalization", [x, g.const(f"{prefix}.weight", weight(w, f"{prefix}.weight")),
                                       g.const(f"{prefix}.bias", weight(w, f"{prefix}.bias"))],
                name, axis=-1, epsilon=eps)


def build(w, cfg, pooling, normalize):
    H, heads, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    if cfg.get("hidden_act", "gelu") != "gelu":
        sys.exit(f"bert_safetensors_to_onnx: hidden_act {cfg['hidden_act']} is not supported (gelu)")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        sys.exit("bert_safetensors_to_onnx: only absolute position embeddings are supported")
    dh, eps = H // heads, float(cfg.get("layer_norm_eps", 1e-12))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
    g = Graph()
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731

    # Embeddings: word [B,S,H] + position [1,S,H] + token type [B,S,H], then LayerNorm.
    e = f"{prefix}embeddings"
    word = g.op("Gather", [g.const(f"{e}.word_embeddings.weight", weight(w, f"{e}.word_embeddings.weight")), "input_ids"],
                "embeddings/word_embeddings")
    seq = g.op("Gather", [g.op("Shape", ["input_ids"], "embeddings"), g.const("/embeddings/Constant_output_0", np.array(1, np.int64))],
               "embeddings", axis=0)
    pos_ids = g.op("Unsqueeze", [g.op("Range", [g.const("/embeddings/Constant_1_output_0", np.array(0, np.int64)), seq,
                                                g.const("/embeddings/Constant_2_output_0", np.array(1, np.int64))], "embeddings"),
                                 g.const("/embeddings/Constant_3_output_0", i64(0))], "embeddings")
    pos = g.op("Gather", [g.const(f"{e}.position_embeddings.weight", weight(w, f"{e}.position_embeddings.weight")), pos_ids],
               "embeddings/position_embeddings")
    typ = g.op("Gather", [g.const(f"{e}.token_type_embeddings.weight", weight(w, f"{e}.token_type_embeddings.weight")),
                          "token_type_ids"], "embeddings/token_type_embeddings")
    x = g.op("Add", [g.op("Add", [word, typ], "embeddings/Add"), pos], "embeddings/Add_1")
    x = layer_norm(g, w, x, f"{e}.LayerNorm", "embeddings/LayerNorm", eps)

    # Additive mask [B,1,1,S]: 0 where attended, float32 min where padded (HF's get_extended_attention_mask).
    m = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.const("/Constant_output_0", i64(1, 2))], "mask")], "mask",
             to=TensorProto.FLOAT)
    m = g.op("Mul", [g.op("Sub", [g.const("/Constant_1_output_0", np.array(1.0, np.float32)), m], "mask"),
                     g.const("/Constant_2_output_0", np.array(F32_MIN, np.float32))], "mask")

    heads_shape = g.const("/Constant_3_output_0", i64(0, 0, heads, dh))
    merge_shape = g.const("/Constant_4_output_0", i64(0, 0, H))
    scale = g.const("/Constant_5_output_0", np.array(math.sqrt(dh), np.float32))
    sqrt2 = g.const("/Constant_6_output_0", np.array(math.sqrt(2.0), np.float32))
    one = g.const("/Constant_7_output_0", np.array(1.0, np.float32))
    half = g.const("/Constant_8_output_0", np.array(0.5, np.float32))
    for i in range(L):
        p, n = f"{prefix}encoder.layer.{i}", f"encoder/layer.{i}"
        # q, v [B,h,S,dh]; kᵀ [B,h,dh,S]; scores [B,h,S,S]
        q = g.op("Transpose", [g.op("Reshape", [linear(g, w, x, f"{p}.attention.self.query", f"{n}/attention/self/query"),
                                                heads_shape], f"{n}/attention/self/q")], f"{n}/attention/self/q", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [linear(g, w, x, f"{p}.attention.self.key", f"{n}/attention/self/key"),
                                                heads_shape], f"{n}/attention/self/k")], f"{n}/attention/self/k", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [linear(g, w, x, f"{p}.attention.self.value", f"{n}/attention/self/value"),
                                                heads_shape], f"{n}/attention/self/v")], f"{n}/attention/self/v", perm=[0, 2, 1, 3])
        s = g.op("Div", [g.op("MatMul", [q, k], f"{n}/attention/self/scores"), scale], f"{n}/attention/self")
        probs = g.op("Softmax", [g.op("Add", [s, m], f"{n}/attention/self/mask")], f"{n}/attention/self", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{n}/attention/self/context")
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], f"{n}/attention/self/context", perm=[0, 2, 1, 3]), merge_shape],
                   f"{n}/attention/self/context")
        a = linear(g, w, ctx, f"{p}.attention.output.dense", f"{n}/attention/output/dense")
        x = layer_norm(g, w, g.op("Add", [a, x], f"{n}/attention/output"), f"{p}.attention.output.LayerNorm",
                       f"{n}/attention/output/LayerNorm", eps)
        # GELU(erf): 0.5 · h · (1 + erf(h / √2))
        h = linear(g, w, x, f"{p}.intermediate.dense", f"{n}/intermediate/dense")
        gelu = g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2], f"{n}/intermediate/act")], f"{n}/intermediate/act"), one],
                    f"{n}/intermediate/act")
        gelu = g.op("Mul", [g.op("Mul", [h, gelu], f"{n}/intermediate/act"), half], f"{n}/intermediate/act_1")
        o = linear(g, w, gelu, f"{p}.output.dense", f"{n}/output/dense")
        x = layer_norm(g, w, g.op("Add", [o, x], f"{n}/output"), f"{p}.output.LayerNorm", f"{n}/output/LayerNorm", eps)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/last_hidden_state/Identity"))

    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", H])]
    if pooling == "mean":
        # sentence-transformers Pooling(mean): Σ x·mask / max(Σ mask, 1e-9) over the tokens.
        mf = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.const("/pool/Constant_output_0", i64(-1))], "pool")], "pool",
                  to=TensorProto.FLOAT)
        mf = g.op("Expand", [mf, g.op("Shape", [x], "pool")], "pool")
        axes = g.const("/pool/Constant_1_output_0", i64(1))
        total = g.op("ReduceSum", [g.op("Mul", [x, mf], "pool"), axes], "pool", keepdims=0)
        count = g.op("Clip", [g.op("ReduceSum", [mf, axes], "pool/count", keepdims=0),
                              g.const("/pool/Constant_2_output_0", np.array(1e-9, np.float32))], "pool")
        pooled = g.op("Div", [total, count], "pool")
        if normalize:
            # torch.nn.functional.normalize(p=2, dim=1): x / max(||x||, 1e-12)
            norm = g.op("ReduceL2", [pooled], "normalize", axes=[1], keepdims=1)
            norm = g.op("Clip", [norm, g.const("/normalize/Constant_output_0", np.array(1e-12, np.float32))], "normalize")
            norm = g.op("Expand", [norm, g.op("Shape", [pooled], "normalize")], "normalize")
            pooled = g.op("Div", [pooled, norm], "normalize")
        g.nodes.append(helper.make_node("Identity", [pooled], ["sentence_embedding"], name="/sentence_embedding/Identity"))
        outputs.append(helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch_size", H]))

    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch_size", "sequence_length"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(g.nodes, "bert_encoder", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="run-llm bert_safetensors_to_onnx")
    model.ir_version = 8
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--pooling", choices=["mean", "none"], default="mean")
    ap.add_argument("--no-normalize", action="store_true")
    a = ap.parse_args()
    for f in ("model.safetensors", "config.json"):
        if not os.path.exists(os.path.join(a.src, f)):
            sys.exit(f"bert_safetensors_to_onnx: {os.path.join(a.src, f)} not found")
    with open(os.path.join(a.src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("model_type", "bert") != "bert":
        sys.exit(f"bert_safetensors_to_onnx: model_type {cfg.get('model_type')} is not bert")
    model = build(load_file(os.path.join(a.src, "model.safetensors")), cfg, a.pooling, not a.no_normalize)
    onnx.checker.check_model(model)
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "model.onnx.part")
    onnx.save(model, tmp)
    os.replace(tmp, os.path.join(a.out, "model.onnx"))
    for f in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        if os.path.exists(os.path.join(a.src, f)):
            shutil.copyfile(os.path.join(a.src, f), os.path.join(a.out, f))
    print(f"bert_safetensors_to_onnx: wrote {os.path.join(a.out, 'model.onnx')} ({len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
