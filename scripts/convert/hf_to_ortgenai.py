#!/usr/bin/env python3
"""Convert a Hugging Face checkpoint folder (config.json + *.safetensors) into an ONNX Runtime
GenAI folder.

  hf_to_ortgenai.py HF_DIR OUT_DIR --precision fp32|fp16|bf16|int8|int4 [--block 32] [--asym]

Families (config.json "architectures"):
  LlamaForCausalLM    RMSNorm, SiLU gated MLP, optional attention_bias / mlp_bias
  MistralForCausalLM  Llama + sliding_window (GroupQueryAttention local_window_size on every layer)
  Qwen2ForCausalLM    Llama + q/k/v biases; sliding window only where layer_types says so
  Phi3ForCausalLM     fused qkv_proj and gate_up_proj (split on the way in), partial_rotary_factor,
                      sliding_window
  GemmaForCausalLM    (1 + w) RMSNorm, embeddings * sqrt(hidden), GELU-tanh MLP, tied lm_head
  Gemma2ForCausalLM   Gemma + post-attention / pre- and post-feed-forward norms, query_pre_attn_scalar,
                      attention and final logit softcapping, sliding window on alternate layers
  Gemma3ForCausalLM   Gemma2 + per-head q/k norms, local layers' RoPE base rope_local_base_freq,
                      no softcapping (see README.md for the graph)
Weights are read as F32, F16 or BF16 (widened to float32), then written as the precision asks
(quantized with quant.py for int4/int8). tokenizer.json, tokenizer_config.json and
chat_template.jinja are copied when the folder has them. RoPE scaling other than none/default is
refused.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ortgenai_writer import PRECISIONS, LlamaConfig, LlamaLayer, LlamaWeights, write_model  # noqa: E402

FAMILIES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "Phi3ForCausalLM": "phi3",
    "GemmaForCausalLM": "gemma",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3",
}
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


class SafetensorsFolder:
    """Every tensor of the folder's *.safetensors files, read on demand as float32."""

    def __init__(self, folder: str):
        self.folder = folder
        self.index: dict[str, tuple[str, dict, int]] = {}
        files = sorted(glob.glob(os.path.join(folder, "*.safetensors")))
        if not files:
            raise ValueError(f"{folder}: no *.safetensors file")
        for path in files:
            with open(path, "rb") as f:
                head = f.read(8)
                if len(head) != 8:
                    raise ValueError(f"{path}: truncated safetensors header")
                n = int.from_bytes(head, "little")
                if n <= 0 or n > os.path.getsize(path) - 8:
                    raise ValueError(f"{path}: header length {n} does not fit the file")
                try:
                    header = json.loads(f.read(n))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}: bad safetensors header ({e})") from None
            for name, info in header.items():
                if name != "__metadata__":
                    self.index[name] = (path, info, 8 + n)

    def has(self, name: str) -> bool:
        return name in self.index

    def get(self, name: str) -> np.ndarray:
        if name not in self.index:
            raise ValueError(f"{self.folder}: missing tensor {name}")
        path, info, base = self.index[name]
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']} (F32, F16, BF16 supported)")
        begin, end = info["data_offsets"]
        shape = [int(x) for x in info["shape"]]
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * np.dtype(dt).itemsize or base + end > os.path.getsize(path):
            raise ValueError(f"{path}: tensor {name} data [{begin}, {end}) does not match shape {shape} {info['dtype']} or the file")
        arr = np.fromfile(path, dt, count, offset=base + begin)
        if info["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        return arr.astype(np.float32).reshape(shape)


def _rope(hf: dict) -> tuple[float, float | None, float]:
    """(global theta, local-layer theta or None, partial_rotary_factor) from a config.json of either
    transformers 4 (rope_theta, rope_local_base_freq, rope_scaling) or 5 (rope_parameters, per
    layer type for Gemma-3)."""
    rp = hf.get("rope_parameters") or {}
    glob_p, local_p = (rp.get("full_attention", {}), rp.get("sliding_attention")) if "full_attention" in rp else (rp, None)
    for spec in (glob_p, local_p or {}, hf.get("rope_scaling") or {}):
        kind = spec.get("rope_type", spec.get("type", "default"))
        if kind not in ("default", None):
            raise ValueError(f"RoPE scaling {kind!r} is not supported")
    theta = float(glob_p.get("rope_theta", hf.get("rope_theta", 10000.0)))
    local = local_p.get("rope_theta") if local_p else hf.get("rope_local_base_freq")
    factor = hf.get("partial_rotary_factor") or glob_p.get("partial_rotary_factor") or 1.0
    return theta, (float(local) if local is not None else None), float(factor)


def read_config(hf: dict, folder: str) -> tuple[str, LlamaConfig]:
    arch = (hf.get("architectures") or [None])[0]
    family = FAMILIES.get(arch)
    if family is None:
        raise ValueError(f"{folder}/config.json: unknown architecture {arch!r}; supported: {', '.join(FAMILIES)}")
    nh = int(hf["num_attention_heads"])
    hidden = int(hf["hidden_size"])
    hd = int(hf.get("head_dim") or hidden // nh)
    layers = int(hf["num_hidden_layers"])
    eos = hf.get("eos_token_id", 2)
    gemma = family.startswith("gemma")
    cfg = LlamaConfig(
        vocab_size=int(hf["vocab_size"]),
        hidden_size=hidden,
        intermediate_size=int(hf["intermediate_size"]),
        num_layers=layers,
        num_heads=nh,
        num_kv_heads=int(hf.get("num_key_value_heads") or nh),
        head_dim=hd,
        context_length=int(hf.get("max_position_embeddings", 4096)),
        rope_theta=_rope(hf)[0],
        rms_eps=float(hf.get("rms_norm_eps", 1e-6)),
        bos_token_id=int(hf.get("bos_token_id", 1) or 0),
        eos_token_id=eos,
        pad_token_id=hf.get("pad_token_id"),
        model_type={"gemma3": "gemma3_text"}.get(family, family),
    )
    act = hf.get("hidden_activation") or hf.get("hidden_act", "silu")
    if act in ("gelu_pytorch_tanh", "gelu_new", "gelu_fast"):
        cfg.activation = "gelu_tanh"
    elif act in ("silu", "swish"):
        cfg.activation = "silu"
    else:
        raise ValueError(f"{folder}/config.json: hidden activation {act!r} is not supported (silu, gelu_pytorch_tanh)")
    types = hf.get("layer_types")
    window = hf.get("sliding_window")
    if types is not None:
        if len(types) < layers:
            raise ValueError(f"{folder}/config.json: layer_types has {len(types)} entries for {layers} layers")
        cfg.local_layers = [t == "sliding_attention" for t in types[:layers]]
    elif family == "gemma2":
        cfg.local_layers = [i % 2 == 0 for i in range(layers)]
    elif family == "gemma3":
        pattern = int(hf.get("sliding_window_pattern", 6))
        cfg.local_layers = [(i + 1) % pattern != 0 for i in range(layers)]
    elif family == "qwen2":
        cfg.local_layers = [bool(hf.get("use_sliding_window")) and i >= int(hf.get("max_window_layers", 0)) for i in range(layers)]
    if window and (cfg.local_layers is None or any(cfg.local_layers)):
        cfg.sliding_window = int(window)
    rot = int(hd * _rope(hf)[2])
    cfg.rotary_dim = rot if rot != hd else None
    if gemma:
        cfg.embed_scale = float(np.sqrt(hidden))
        cfg.norm_fp32 = True
    if family in ("gemma2", "gemma3"):
        cfg.query_scale = float(hf["query_pre_attn_scalar"]) ** -0.5
    if family == "gemma2":
        cfg.attn_softcap = float(hf.get("attn_logit_softcapping") or 0.0)
        cfg.final_softcap = float(hf.get("final_logit_softcapping") or 0.0)
    if family == "gemma3":
        cfg.rope_local_theta = _rope(hf)[1] or 10000.0
        if hf.get("attn_logit_softcapping") or hf.get("final_logit_softcapping"):
            raise ValueError(f"{folder}/config.json: Gemma-3 softcapping is not supported")
    return family, cfg


def read_model(folder: str) -> tuple[LlamaConfig, LlamaWeights]:
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            hf = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    try:
        family, cfg = read_config(hf, folder)
    except KeyError as e:
        raise ValueError(f"{path}: missing key {e}") from None
    st = SafetensorsFolder(folder)
    gemma = family.startswith("gemma")
    # Gemma's RMSNorm scales by (1 + w): fold the 1 into the stored weight.
    norm = (lambda name: st.get(name) + 1.0) if gemma else st.get
    nh, nkv, hd, ffn = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.intermediate_size
    layers = []
    for i in range(cfg.num_layers):
        p = f"model.layers.{i}"
        a = f"{p}.self_attn"
        if family == "phi3":
            qkv = st.get(f"{a}.qkv_proj.weight")
            if qkv.shape[0] != (nh + 2 * nkv) * hd:
                raise ValueError(f"tensor {a}.qkv_proj.weight: expected {(nh + 2 * nkv) * hd} rows, got {qkv.shape[0]}")
            q, k, v = np.split(qkv, [nh * hd, (nh + nkv) * hd])
            gate_up = st.get(f"{p}.mlp.gate_up_proj.weight")
            if gate_up.shape[0] != 2 * ffn:
                raise ValueError(f"tensor {p}.mlp.gate_up_proj.weight: expected {2 * ffn} rows, got {gate_up.shape[0]}")
            gate, up = gate_up[:ffn], gate_up[ffn:]
        else:
            q, k, v = (st.get(f"{a}.{n}_proj.weight") for n in "qkv")
            gate, up = st.get(f"{p}.mlp.gate_proj.weight"), st.get(f"{p}.mlp.up_proj.weight")
        layer = LlamaLayer(
            input_norm=norm(f"{p}.input_layernorm.weight"), q=q, k=k, v=v, o=st.get(f"{a}.o_proj.weight"),
            post_norm=norm(f"{p}.pre_feedforward_layernorm.weight" if family in ("gemma2", "gemma3") else f"{p}.post_attention_layernorm.weight"),
            gate=gate, up=up, down=st.get(f"{p}.mlp.down_proj.weight"),
        )
        if st.has(f"{a}.q_proj.bias") or family == "qwen2":
            layer.q_bias, layer.k_bias, layer.v_bias = (st.get(f"{a}.{n}_proj.bias") for n in "qkv")
        if st.has(f"{a}.o_proj.bias") or st.has(f"{p}.mlp.down_proj.bias"):
            raise ValueError(f"{folder}: o_proj / MLP biases ({p}) are not supported")
        if family in ("gemma2", "gemma3"):
            layer.attn_out_norm = norm(f"{p}.post_attention_layernorm.weight")
            layer.ffn_out_norm = norm(f"{p}.post_feedforward_layernorm.weight")
        if family == "gemma3":
            layer.q_norm, layer.k_norm = norm(f"{a}.q_norm.weight"), norm(f"{a}.k_norm.weight")
        layers.append(layer)
    embed = st.get("model.embed_tokens.weight")
    tied = hf.get("tie_word_embeddings", gemma) or not st.has("lm_head.weight")
    lm_head = embed if tied else st.get("lm_head.weight")
    return cfg, LlamaWeights(embed=embed, layers=layers, final_norm=norm("model.norm.weight"), lm_head=lm_head)


def convert(folder: str, out_dir: str, precision: str, block: int, asym: bool) -> None:
    cfg, weights = read_model(folder)
    write_model(cfg, weights, out_dir, precision, block, asym)
    for f in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"):
        if os.path.isfile(os.path.join(folder, f)):
            shutil.copy(os.path.join(folder, f), os.path.join(out_dir, f))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hf_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--precision", choices=PRECISIONS, required=True)
    ap.add_argument("--block", type=int, default=32, help="MatMulNBits block size along K (int4/int8)")
    ap.add_argument("--asym", action="store_true", help="asymmetric quantization with zero points")
    args = ap.parse_args()
    try:
        convert(args.hf_dir, args.out_dir, args.precision, args.block, args.asym)
    except (ValueError, OSError) as e:
        print(f"hf_to_ortgenai: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
