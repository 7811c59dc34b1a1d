"""Bad inputs to the converters fail with a clear message naming the file or tensor: a truncated
llama2.c checkpoint, a non-SentencePiece tokenizer, an unknown precision, a wrongly shaped weight,
GGUF files with an unknown architecture, a missing tensor or a mismatched shape, and HF checkpoints
with an unknown architecture, a missing tensor, mismatched shapes (plain and fused), a missing
config key, unsupported RoPE scaling or a truncated safetensors file.
usage: test_bad_input.py SHARED_MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFWriter

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERT = os.path.join(HERE, "..", "..", "scripts", "convert")
sys.path.insert(0, CONVERT)
from ortgenai_writer import LlamaConfig, LlamaLayer, LlamaOnnxWriter, LlamaWeights  # noqa: E402


def run_cli(args):
    return subprocess.run([sys.executable, os.path.join(CONVERT, "llama2c_to_ortgenai.py"), *args], capture_output=True, text=True)


def write_gguf(path: str, arch: str, tensors: dict) -> None:
    w = GGUFWriter(path, arch)
    w.add_block_count(1)
    w.add_context_length(16)
    w.add_embedding_length(16)
    w.add_feed_forward_length(24)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_token_list([f"t{i}" for i in range(32)])
    w.add_eos_token_id(2)
    w.add_bos_token_id(1)
    for name, arr in tensors.items():
        w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_cases() -> list[str]:
    failures = []
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    full = {
        "token_embd.weight": z(32, 16), "output_norm.weight": z(16), "blk.0.attn_norm.weight": z(16),
        "blk.0.attn_q.weight": z(16, 16), "blk.0.attn_k.weight": z(8, 16), "blk.0.attn_v.weight": z(8, 16),
        "blk.0.attn_output.weight": z(16, 16), "blk.0.ffn_norm.weight": z(16), "blk.0.ffn_gate.weight": z(24, 16),
        "blk.0.ffn_up.weight": z(24, 16), "blk.0.ffn_down.weight": z(16, 24),
    }
    with tempfile.TemporaryDirectory() as d:
        cases = [
            ("unknown architecture", "mamba", full, "unknown architecture 'mamba'"),
            ("missing tensor", "llama", {k: v for k, v in full.items() if k != "blk.0.attn_v.weight"}, "missing tensor blk.0.attn_v.weight"),
            ("mismatched shape", "llama", {**full, "blk.0.ffn_up.weight": z(20, 16)}, "model.layers.0.up_proj: expected shape [24, 16], got [20, 16]"),
        ]
        for i, (what, arch, tensors, expect) in enumerate(cases):
            path = os.path.join(d, f"case{i}.gguf")
            write_gguf(path, arch, tensors)
            r = subprocess.run(
                [sys.executable, os.path.join(CONVERT, "gguf_to_ortgenai.py"), path, os.path.join(d, f"out{i}"), "--precision", "fp32"],
                capture_output=True, text=True,
            )
            if r.returncode == 0 or expect not in r.stderr or "Traceback" in r.stderr:
                failures.append(f"GGUF {what}: rc {r.returncode}, stderr {r.stderr.strip()!r}, expected {expect!r}")
            else:
                print(f"ok: GGUF {what}: {r.stderr.strip()}")
    return failures


def hf_cases() -> list[str]:
    """hf_to_ortgenai on tiny checkpoints with one thing wrong each."""
    sys.path.insert(0, HERE)
    from test_hf_families import write_safetensors  # noqa: E402

    failures = []
    cfg = {"architectures": ["LlamaForCausalLM"], "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
           "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1, "max_position_embeddings": 16}
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    full = {
        "model.embed_tokens.weight": z(32, 16), "model.norm.weight": z(16), "lm_head.weight": z(32, 16),
        "model.layers.0.input_layernorm.weight": z(16), "model.layers.0.post_attention_layernorm.weight": z(16),
        "model.layers.0.self_attn.q_proj.weight": z(16, 16), "model.layers.0.self_attn.k_proj.weight": z(16, 16),
        "model.layers.0.self_attn.v_proj.weight": z(16, 16), "model.layers.0.self_attn.o_proj.weight": z(16, 16),
        "model.layers.0.mlp.gate_proj.weight": z(24, 16), "model.layers.0.mlp.up_proj.weight": z(24, 16),
        "model.layers.0.mlp.down_proj.weight": z(16, 24),
    }
    phi = {k: v for k, v in full.items() if "q_proj" not in k and "k_proj" not in k and "v_proj" not in k and "gate_proj" not in k and "up_proj" not in k}
    phi.update({"model.layers.0.self_attn.qkv_proj.weight": z(40, 16), "model.layers.0.mlp.gate_up_proj.weight": z(48, 16)})
    cases = [
        ("unknown architecture", {**cfg, "architectures": ["MambaForCausalLM"]}, full, "unknown architecture 'MambaForCausalLM'"),
        ("missing tensor", cfg, {k: v for k, v in full.items() if "v_proj" not in k}, "missing tensor model.layers.0.self_attn.v_proj.weight"),
        ("mismatched shape", cfg, {**full, "model.layers.0.mlp.up_proj.weight": z(20, 16)}, "model.layers.0.up_proj: expected shape [24, 16], got [20, 16]"),
        ("mismatched norm", cfg, {**full, "model.norm.weight": z(15)}, "tensor final_norm: expected shape [16], got [15]"),
        ("fused qkv rows", {**cfg, "architectures": ["Phi3ForCausalLM"]}, phi, "tensor model.layers.0.self_attn.qkv_proj.weight: expected 48 rows, got 40"),
        ("missing config key", {k: v for k, v in cfg.items() if k != "hidden_size"}, full, "config.json: missing key 'hidden_size'"),
        ("RoPE scaling", {**cfg, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}, full, "RoPE scaling 'yarn' is not supported"),
    ]
    with tempfile.TemporaryDirectory() as d:
        for i, (what, c, tensors, expect) in enumerate(cases):
            src = os.path.join(d, f"hf{i}")
            os.makedirs(src)
            with open(os.path.join(src, "config.json"), "w") as f:
                json.dump(c, f)
            write_safetensors(os.path.join(src, "model.safetensors"), tensors, "F32")
            r = subprocess.run([sys.executable, os.path.join(CONVERT, "hf_to_ortgenai.py"), src, os.path.join(d, f"o{i}"), "--precision", "fp32"],
                               capture_output=True, text=True)
            if r.returncode == 0 or expect not in r.stderr or "Traceback" in r.stderr:
                failures.append(f"HF {what}: rc {r.returncode}, stderr {r.stderr.strip()!r}, expected {expect!r}")
            else:
                print(f"ok: HF {what}: {r.stderr.strip()}")
        trunc = os.path.join(d, "trunc")
        os.makedirs(trunc)
        with open(os.path.join(trunc, "config.json"), "w") as f:
            json.dump(cfg, f)
        with open(os.path.join(trunc, "model.safetensors"), "wb") as f:
            f.write((1 << 40).to_bytes(8, "little") + b"{}")
        r = subprocess.run([sys.executable, os.path.join(CONVERT, "hf_to_ortgenai.py"), trunc, os.path.join(d, "ot"), "--precision", "fp32"],
                           capture_output=True, text=True)
        if r.returncode == 0 or "model.safetensors: header length" not in r.stderr or "Traceback" in r.stderr:
            failures.append(f"HF truncated safetensors: rc {r.returncode}, stderr {r.stderr.strip()!r}")
        else:
            print(f"ok: HF truncated safetensors: {r.stderr.strip()}")
    return failures


def main() -> int:
    shared = sys.argv[1]
    tok = os.path.join(shared, "stories260K", "tok512.model")
    ckpt = os.path.join(shared, "stories260K", "stories260K.bin")
    failures = []
    with tempfile.TemporaryDirectory() as d:
        truncated = os.path.join(d, "truncated.bin")
        with open(ckpt, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read(100_000))
        r = run_cli([truncated, tok, os.path.join(d, "out"), "--precision", "fp32"])
        if r.returncode == 0 or "truncated.bin" not in r.stderr or "header describes" not in r.stderr:
            failures.append(f"truncated checkpoint: rc {r.returncode}, stderr {r.stderr!r}")
        r = run_cli([ckpt, ckpt, os.path.join(d, "out2"), "--precision", "fp32"])
        if r.returncode == 0 or "stories260K.bin" not in r.stderr:
            failures.append(f"checkpoint given as tokenizer: rc {r.returncode}, stderr {r.stderr!r}")
        r = run_cli([ckpt, tok, os.path.join(d, "out3"), "--precision", "int3"])
        if r.returncode == 0 or "int3" not in r.stderr:
            failures.append(f"unknown precision: rc {r.returncode}, stderr {r.stderr!r}")

    cfg = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=24, num_layers=1, num_heads=2, num_kv_heads=1, head_dim=8, context_length=16)
    z = np.zeros
    layer = LlamaLayer(z(16), z((16, 16)), z((8, 16)), z((8, 16)), z((16, 16)), z(16), z((24, 16)), z((24, 16)), z((16, 20)))
    try:
        LlamaOnnxWriter(cfg, "fp32").build(LlamaWeights(z((32, 16)), [layer], z(16), z((32, 16))))
        failures.append("mismatched down_proj shape was accepted")
    except ValueError as e:
        if "model.layers.0.down_proj" not in str(e) or "[16, 24]" not in str(e):
            failures.append(f"mismatched shape message does not name the tensor and shape: {e}")
        else:
            print(f"ok: {e}")
    failures += gguf_cases()
    failures += hf_cases()
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("OK: bad inputs rejected with messages naming the file or tensor")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
