#!/usr/bin/env python3
"""Convert a llama2.c checkpoint + its SentencePiece tokenizer into an ONNX Runtime GenAI folder.

  llama2c_to_ortgenai.py stories260K.bin tok512.model OUT_DIR --precision fp32|fp16|bf16|int8|int4 [--block 32] [--asym]

llama2.c rotates interleaved pairs (2i, 2i+1); GroupQueryAttention is emitted with the builder's
half-split convention (rotary_interleaved=0), so q/k rows are permuted per head on the way out.
RoPE theta 10000 and rms eps 1e-5 are fixed by run.c.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from llama2c import read_llama2c  # noqa: E402
from ortgenai_writer import PRECISIONS, LlamaConfig, LlamaLayer, LlamaWeights, interleaved_to_half_split, write_model  # noqa: E402
from sp_tokenizer import load_sp_model, write_tokenizer_files  # noqa: E402


def convert(checkpoint: str, tokenizer_model: str, out_dir: str, precision: str, block: int, asym: bool) -> None:
    sp_model = load_sp_model(tokenizer_model)
    ck = read_llama2c(checkpoint)
    if len(sp_model.pieces) != ck.vocab_size:
        raise ValueError(f"{tokenizer_model}: {len(sp_model.pieces)} pieces, but {checkpoint} has vocab_size {ck.vocab_size}")
    t = ck.tensors
    cfg = LlamaConfig(
        vocab_size=ck.vocab_size, hidden_size=ck.dim, intermediate_size=ck.hidden_dim, num_layers=ck.n_layers,
        num_heads=ck.n_heads, num_kv_heads=ck.n_kv_heads, head_dim=ck.head_size, context_length=ck.seq_len,
        rope_theta=10000.0, rms_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    layers = [
        LlamaLayer(
            input_norm=t["rms_att"][i],
            q=interleaved_to_half_split(t["wq"][i], ck.n_heads),
            k=interleaved_to_half_split(t["wk"][i], ck.n_kv_heads),
            v=t["wv"][i],
            o=t["wo"][i],
            post_norm=t["rms_ffn"][i],
            gate=t["w1"][i],
            up=t["w3"][i],
            down=t["w2"][i],
        )
        for i in range(ck.n_layers)
    ]
    weights = LlamaWeights(embed=t["token_embedding"], layers=layers, final_norm=t["rms_final"], lm_head=t["wcls"])
    write_model(cfg, weights, out_dir, precision, block, asym)
    write_tokenizer_files(sp_model, out_dir, ck.seq_len)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="llama2.c .bin checkpoint")
    ap.add_argument("tokenizer", help="SentencePiece .model file")
    ap.add_argument("out_dir")
    ap.add_argument("--precision", choices=PRECISIONS, required=True)
    ap.add_argument("--block", type=int, default=32, help="MatMulNBits block size along K (int4/int8)")
    ap.add_argument("--asym", action="store_true", help="asymmetric quantization with zero points")
    args = ap.parse_args()
    try:
        convert(args.checkpoint, args.tokenizer, args.out_dir, args.precision, args.block, args.asym)
    except (ValueError, OSError) as e:
        print(f"llama2c_to_ortgenai: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
