"""INT8 variants of the cached fp32 sentence encoders, made with onnxruntime's
own quantization tools, as users of optimum / onnxruntime make them:

  <model dir>/int8/dynamic-{u8,s8}-{tensor,channel}.onnx
      quantize_dynamic: QUInt8 / QInt8 weights, per tensor / per output channel
      (DynamicQuantizeLinear + MatMulInteger + Cast + Mul + Add graphs)
  <model dir>/int8/qdq-s8-channel.onnx
      quantize_static, QuantFormat.QDQ around every MatMul, uint8 activations,
      int8 per-channel weights, MinMax calibration on CALIBRATION sentences

  quantize_encoders.py [CACHE]        (default: $RUNLLM_MODELS or ~/.cache/run-llm)

Idempotent: a variant newer than its fp32 source and this script is kept.
Exit 77 when onnxruntime / tokenizers are missing; 0 when every fp32 encoder
found has its variants (absent encoders are reported and skipped).
"""
import os
import sys
import tempfile

try:
    import numpy as np
    import onnx
    import tokenizers
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
except ImportError as e:
    print(f"quantize_encoders: skip: {e}", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sentences import calibration_sentences  # noqa: E402

# (name, fp32 graph relative to the cache, tokenizer.json relative to the cache)
ENCODERS = [
    ("paraphrase-minilm-l3-v2", "paraphrase-minilm-l3-v2/paraphrase-MiniLM-L3-v2.onnx", "all-minilm-l6-v2/tokenizer.json"),
    ("all-minilm-l6-v2", "all-minilm-l6-v2/onnx/model.onnx", "all-minilm-l6-v2/tokenizer.json"),
]

DYNAMIC = [
    ("dynamic-u8-tensor", QuantType.QUInt8, False),
    ("dynamic-u8-channel", QuantType.QUInt8, True),
    ("dynamic-s8-tensor", QuantType.QInt8, False),
    ("dynamic-s8-channel", QuantType.QInt8, True),
]


class Calibration(CalibrationDataReader):
    def __init__(self, model_path, tok_path):
        names = {i.name for i in onnx.load(model_path, load_external_data=False).graph.input}
        tok = tokenizers.Tokenizer.from_file(tok_path)
        tok.no_padding()
        self.feeds = []
        for s in calibration_sentences():
            ids = tok.encode(s).ids
            feed = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros((1, len(ids)), np.int64)
            self.feeds.append(feed)
        self.it = iter(self.feeds)

    def get_next(self):
        return next(self.it, None)


def fresh(out, deps):
    return os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(d) for d in deps)


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUNLLM_MODELS") or os.path.expanduser("~/.cache/run-llm")
    script_deps = [os.path.abspath(__file__), os.path.join(HERE, "sentences.py")]
    for name, rel, tok_rel in ENCODERS:
        src, tok = os.path.join(cache, rel), os.path.join(cache, tok_rel)
        if not (os.path.exists(src) and os.path.exists(tok)):
            print(f"quantize_encoders: {name}: {src} or {tok} missing, skipped")
            continue
        out_dir = os.path.join(os.path.dirname(src), "int8")
        os.makedirs(out_dir, exist_ok=True)
        deps = [src] + script_deps
        for variant, wtype, per_channel in DYNAMIC:
            out = os.path.join(out_dir, variant + ".onnx")
            if fresh(out, deps):
                continue
            print(f"quantize_encoders: {name} -> {out}")
            quantize_dynamic(src, out + ".part", weight_type=wtype, per_channel=per_channel)
            os.replace(out + ".part", out)
        out = os.path.join(out_dir, "qdq-s8-channel.onnx")
        if not fresh(out, deps):
            print(f"quantize_encoders: {name} -> {out}")
            with tempfile.TemporaryDirectory() as tmp:
                # Calibration runs the graph with onnxruntime; intermediate files stay in tmp.
                os.environ["TMPDIR"] = tmp
                quantize_static(src, out + ".part", Calibration(src, tok), quant_format=QuantFormat.QDQ,
                                op_types_to_quantize=["MatMul"], per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            os.replace(out + ".part", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
