"""Reference forward passes (numpy, float64) of the Hugging Face decoder families the converter
reads, written from each family's modeling code (transformers' modeling_llama / mistral / qwen2 /
phi3 / gemma / gemma2 / gemma3), independent of onnx and of scripts/convert.

forward(config, state_dict, ids) -> logits [len(ids), vocab] for one sequence from position 0.
"""
from __future__ import annotations

import numpy as np


def _family(cfg: dict) -> str:
    return {
        "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
        "Phi3ForCausalLM": "phi3", "GemmaForCausalLM": "gemma", "Gemma2ForCausalLM": "gemma2",
        "Gemma3ForCausalLM": "gemma3",
    }[cfg["architectures"][0]]


def _rms(x, w, eps, gemma):
    # Llama: w * x / rms(x); Gemma: (1 + w) * x / rms(x)
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y * ((1.0 + w) if gemma else w)


def _rope(x, pos, theta, rot):
    # x [S, H, D]; rotate_half on the first `rot` dims (HF apply_rotary_pos_emb, partial rotary)
    inv = 1.0 / theta ** (np.arange(0, rot, 2) / rot)
    f = np.outer(pos, inv)
    emb = np.concatenate([f, f], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    xr, xp = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
    return np.concatenate([xr * cos + rotated * sin, xp], axis=-1)


def _act(x, name):
    if name in ("silu", "swish"):
        return x / (1.0 + np.exp(-x))
    # gelu_pytorch_tanh
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def _is_sliding(cfg, fam, i):
    if cfg.get("layer_types") is not None:
        return cfg["layer_types"][i] == "sliding_attention"
    if fam == "gemma2":
        return i % 2 == 0
    if fam == "gemma3":
        return (i + 1) % cfg.get("sliding_window_pattern", 6) != 0
    if fam == "qwen2":
        return bool(cfg.get("use_sliding_window")) and i >= cfg.get("max_window_layers", 0)
    return cfg.get("sliding_window") is not None


def forward(cfg: dict, sd: dict, ids: list[int]) -> np.ndarray:
    fam = _family(cfg)
    gemma = fam.startswith("gemma")
    W = {k: np.asarray(v, np.float64) for k, v in sd.items()}
    d = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim") or d // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    rp = cfg.get("rope_parameters") or {}
    if "full_attention" in rp:  # transformers 5 Gemma-3: one RoPE per layer type
        theta, local_theta = rp["full_attention"]["rope_theta"], rp["sliding_attention"]["rope_theta"]
    else:
        theta, local_theta = rp.get("rope_theta", cfg.get("rope_theta", 10000.0)), cfg.get("rope_local_base_freq", 10000.0)
    rot = int(hd * (cfg.get("partial_rotary_factor") or rp.get("partial_rotary_factor") or 1.0))
    act = cfg.get("hidden_activation") or cfg.get("hidden_act", "silu")
    S = len(ids)
    pos = np.arange(S)
    x = W["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * np.sqrt(d)
    scale = cfg["query_pre_attn_scalar"] ** -0.5 if fam in ("gemma2", "gemma3") else hd**-0.5
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        a = f"{p}.self_attn"
        h = _rms(x, W[f"{p}.input_layernorm.weight"], eps, gemma)
        if fam == "phi3":
            qkv = h @ W[f"{a}.qkv_proj.weight"].T
            q, k, v = qkv[:, : nh * hd], qkv[:, nh * hd: (nh + nkv) * hd], qkv[:, (nh + nkv) * hd:]
        else:
            q, k, v = (h @ W[f"{a}.{n}_proj.weight"].T for n in "qkv")
            if f"{a}.q_proj.bias" in W:
                q, k, v = q + W[f"{a}.q_proj.bias"], k + W[f"{a}.k_proj.bias"], v + W[f"{a}.v_proj.bias"]
        q, k, v = q.reshape(S, nh, hd), k.reshape(S, nkv, hd), v.reshape(S, nkv, hd)
        if fam == "gemma3":
            q = _rms(q, W[f"{a}.q_norm.weight"], eps, True)
            k = _rms(k, W[f"{a}.k_norm.weight"], eps, True)
        sliding = _is_sliding(cfg, fam, i) and cfg.get("sliding_window")
        th = local_theta if fam == "gemma3" and sliding else theta
        q, k = _rope(q, pos, th, rot), _rope(k, pos, th, rot)
        k, v = np.repeat(k, nh // nkv, axis=1), np.repeat(v, nh // nkv, axis=1)
        s = np.einsum("qhd,khd->hqk", q, k) * scale
        if fam == "gemma2" and cfg.get("attn_logit_softcapping"):
            c = cfg["attn_logit_softcapping"]
            s = np.tanh(s / c) * c
        qi, ki = np.arange(S)[:, None], np.arange(S)[None, :]
        keep = ki <= qi
        if sliding:
            keep &= qi - ki < cfg["sliding_window"]
        s = np.where(keep[None], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("hqk,khd->qhd", s, v).reshape(S, nh * hd) @ W[f"{a}.o_proj.weight"].T
        if fam in ("gemma2", "gemma3"):
            o = _rms(o, W[f"{p}.post_attention_layernorm.weight"], eps, True)
            x = x + o
            h = _rms(x, W[f"{p}.pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + o
            h = _rms(x, W[f"{p}.post_attention_layernorm.weight"], eps, gemma)
        if fam == "phi3":
            gu = h @ W[f"{p}.mlp.gate_up_proj.weight"].T
            gate, up = np.split(gu, 2, axis=-1)
        else:
            gate, up = h @ W[f"{p}.mlp.gate_proj.weight"].T, h @ W[f"{p}.mlp.up_proj.weight"].T
        m = (_act(gate, act) * up) @ W[f"{p}.mlp.down_proj.weight"].T
        if fam in ("gemma2", "gemma3"):
            m = _rms(m, W[f"{p}.post_feedforward_layernorm.weight"], eps, True)
        x = x + m
    x = _rms(x, W["model.norm.weight"], eps, gemma)
    lm = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    logits = x @ lm.T
    if fam == "gemma2" and cfg.get("final_logit_softcapping"):
        c = cfg["final_logit_softcapping"]
        logits = np.tanh(logits / c) * c
    return logits
