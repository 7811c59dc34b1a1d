#!/usr/bin/env python3
"""Convert a GGUF file (llama or gemma3 architecture) into an ONNX Runtime GenAI folder.

  gguf_to_ortgenai.py MODEL.gguf OUT_DIR --precision fp32|fp16|bf16|int8|int4 [--block 32] [--asym]

fp32/fp16/bf16: every tensor dequantized (the gguf package's dequantize for k-quants) to float.
int4/int8: GGUF blocks that match MatMulNBits are carried over without requantizing (gguf_weights.py):
Q4_0 -> bits 4 block 32; Q4_1, Q4_K -> bits 4 block 32 with float zero points; Q8_0, Q5_0 -> bits 8
block 32 and Q6_K -> bits 8 block 16, in an int4 folder too (a wider block is never requantized
down); Q5_1/Q5_K are requantized to bits 8; the rest (other k-quants, float, and 4-bit blocks in an
int8 folder) is requantized from float (see quant.py).
GGUF llama q/k rows are permuted for interleaved-pair rotary (llama.cpp's converter permutes HF's);
they are permuted back to HF's half-split order, the GroupQueryAttention rotary_interleaved=0 form.
gemma3 (NEOX rotary, not permuted) gets the builder's Gemma-3 graph: see README.md.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gguf_tokenizer import write_tokenizer  # noqa: E402
from gguf_weights import GGUFFile, take_rows, to_float, to_weight  # noqa: E402
from quant import QuantizedWeight  # noqa: E402
from ortgenai_writer import PRECISIONS, LlamaConfig, LlamaLayer, LlamaWeights, half_split_index, write_model  # noqa: E402

SUPPORTED_ARCHITECTURES = ("llama", "gemma3")
GEMMA3_SWA_PATTERN = 6  # llama.cpp: every 6th layer global, the rest sliding-window
GEMMA3_LOCAL_ROPE_BASE = 10000.0  # llama.cpp's rope_freq_base_train_swa for gemma3 (not in the GGUF)


def half_split_rows(load, g: GGUFFile, name: str, n_heads: int, head_dim: int):
    """Tensor `name` with its rows moved from interleaved-pair to half-split rotary order."""
    w = load(g.tensor(name))
    rows = w.n if isinstance(w, QuantizedWeight) else w.shape[0]
    if rows != n_heads * head_dim:
        raise ValueError(f"{g.path}: tensor {name} has {rows} rows, expected {n_heads} heads x {head_dim}")
    return take_rows(w, half_split_index(n_heads, head_dim))


def read_config(g: GGUFFile) -> LlamaConfig:
    arch = g.field("general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise ValueError(f"{g.path}: unknown architecture {arch!r}; supported: {', '.join(SUPPORTED_ARCHITECTURES)}")
    a = arch
    n_heads = int(g.field(f"{a}.attention.head_count"))
    hidden = int(g.field(f"{a}.embedding_length"))
    head_dim = int(g.field(f"{a}.attention.key_length", g.field(f"{a}.rope.dimension_count", hidden // n_heads)))
    tokens = g.field("tokenizer.ggml.tokens")
    eos = int(g.field("tokenizer.ggml.eos_token_id"))
    cfg = LlamaConfig(
        vocab_size=int(g.field(f"{a}.vocab_size", len(tokens))),
        hidden_size=hidden,
        intermediate_size=int(g.field(f"{a}.feed_forward_length")),
        num_layers=int(g.field(f"{a}.block_count")),
        num_heads=n_heads,
        num_kv_heads=int(g.field(f"{a}.attention.head_count_kv", n_heads)),
        head_dim=head_dim,
        context_length=int(g.field(f"{a}.context_length")),
        rope_theta=float(g.field(f"{a}.rope.freq_base", 10000.0)),
        rms_eps=float(g.field(f"{a}.attention.layer_norm_rms_epsilon")),
        bos_token_id=int(g.field("tokenizer.ggml.bos_token_id")),
        eos_token_id=eos,
        pad_token_id=int(g.field("tokenizer.ggml.padding_token_id", eos)),
        model_type=arch,
    )
    scaling = g.reader.fields.get(f"{a}.rope.scaling.type")
    if scaling is not None and scaling.contents() != "none" and float(g.field(f"{a}.rope.scaling.factor", 1.0)) != 1.0:
        raise ValueError(f"{g.path}: RoPE scaling {scaling.contents()!r} is not supported")
    if arch == "llama" and head_dim * n_heads != hidden:
        raise ValueError(f"{g.path}: head_dim {head_dim} x {n_heads} heads != embedding_length {hidden} (not supported)")
    if arch == "gemma3":
        if int(g.field(f"{a}.attention.value_length", head_dim)) != head_dim:
            raise ValueError(f"{g.path}: key_length {head_dim} != value_length (not supported)")
        # llama.cpp: query_pre_attn_scalar is hidden/heads for the 27B (62 layers), head_dim otherwise
        cfg.query_scale = float((hidden // n_heads if cfg.num_layers == 62 else head_dim) ** -0.5)
        cfg.sliding_window = int(g.field(f"{a}.attention.sliding_window"))
        cfg.local_layers = [(i + 1) % GEMMA3_SWA_PATTERN != 0 for i in range(cfg.num_layers)]
        cfg.rope_local_theta = GEMMA3_LOCAL_ROPE_BASE
        cfg.embed_scale = float(np.sqrt(hidden))
        cfg.activation = "gelu_tanh"
        cfg.norm_fp32 = True
        cfg.model_type = "gemma3_text"  # onnxruntime-genai's name for the text-only decoder ("gemma3" is the VLM package)
        end_of_turn = [i for i, t in enumerate(tokens) if t == "<end_of_turn>"]
        cfg.eos_token_id = [eos] + end_of_turn
    return cfg


def read_model(g: GGUFFile, requantize: bool = False) -> tuple[LlamaConfig, LlamaWeights]:
    """requantize: read every tensor as float (no block carried over)."""
    load = to_float if requantize else to_weight
    cfg = read_config(g)
    gemma = cfg.model_type == "gemma3_text"
    layers = []
    for i in range(cfg.num_layers):
        b = f"blk.{i}"
        if gemma:
            # llama.cpp's converter already stored Gemma's RMSNorm weights as (1 + w), and rotates
            # q/k in NEOX (half-split) order, so neither needs changing here.
            q, k = load(g.tensor(f"{b}.attn_q.weight")), load(g.tensor(f"{b}.attn_k.weight"))
        else:
            q = half_split_rows(load, g, f"{b}.attn_q.weight", cfg.num_heads, cfg.head_dim)
            k = half_split_rows(load, g, f"{b}.attn_k.weight", cfg.num_kv_heads, cfg.head_dim)
        layer = LlamaLayer(
            input_norm=to_float(g.tensor(f"{b}.attn_norm.weight")),
            q=q,
            k=k,
            v=load(g.tensor(f"{b}.attn_v.weight")),
            o=load(g.tensor(f"{b}.attn_output.weight")),
            post_norm=to_float(g.tensor(f"{b}.ffn_norm.weight")),
            gate=load(g.tensor(f"{b}.ffn_gate.weight")),
            up=load(g.tensor(f"{b}.ffn_up.weight")),
            down=load(g.tensor(f"{b}.ffn_down.weight")),
        )
        if gemma:
            layer.q_norm = to_float(g.tensor(f"{b}.attn_q_norm.weight"))
            layer.k_norm = to_float(g.tensor(f"{b}.attn_k_norm.weight"))
            layer.attn_out_norm = to_float(g.tensor(f"{b}.post_attention_norm.weight"))
            layer.ffn_out_norm = to_float(g.tensor(f"{b}.post_ffw_norm.weight"))
        layers.append(layer)
    embed = load(g.tensor("token_embd.weight"))
    lm_head = load(g.tensor("output.weight")) if g.has("output.weight") else embed
    weights = LlamaWeights(embed=embed, layers=layers, final_norm=to_float(g.tensor("output_norm.weight")), lm_head=lm_head)
    return cfg, weights


def convert(path: str, out_dir: str, precision: str, block: int, asym: bool, requantize: bool = False) -> None:
    g = GGUFFile(path)
    cfg, weights = read_model(g, requantize or precision in ("fp32", "fp16", "bf16"))
    write_model(cfg, weights, out_dir, precision, block, asym)
    write_tokenizer(g, out_dir, cfg.context_length)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("out_dir")
    ap.add_argument("--precision", choices=PRECISIONS, required=True)
    ap.add_argument("--block", type=int, default=32, help="MatMulNBits block size along K when requantizing")
    ap.add_argument("--asym", action="store_true", help="asymmetric quantization with zero points when requantizing")
    ap.add_argument(
        "--requantize", action="store_true",
        help="quantize every weight from the dequantized GGUF instead of carrying blocks over (as the GenAI builder "
        "does from the float model); onnxruntime's CPU MatMulNBits is ~35x slower with the float zero points of carried Q4_1",
    )
    args = ap.parse_args()
    try:
        convert(args.gguf, args.out_dir, args.precision, args.block, args.asym, args.requantize)
    except (ValueError, OSError) as e:
        print(f"gguf_to_ortgenai: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
