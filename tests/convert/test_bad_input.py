"""Bad inputs to the converters fail with a clear message naming the file or tensor.
usage: test_bad_input.py SHARED_MODELS_DIR
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERT = os.path.join(HERE, "..", "..", "scripts", "convert")
sys.path.insert(0, CONVERT)
from ortgenai_writer import LlamaConfig, LlamaLayer, LlamaOnnxWriter, LlamaWeights  # noqa: E402


def run_cli(args):
    return subprocess.run([sys.executable, os.path.join(CONVERT, "llama2c_to_ortgenai.py"), *args], capture_output=True, text=True)


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
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("OK: bad inputs rejected with messages naming the file or tensor")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
