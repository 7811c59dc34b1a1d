"""GGUF block types through scripts/convert/gguf_weights.py against the gguf package's own
dequantization, and through onnxruntime's MatMulNBits.

A GGUF file is written with gguf's GGUFWriter holding one [48, 512] matrix per type: quantized by
gguf.quants.quantize where gguf can (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; F16, BF16, F32 as is), and as
random block bytes with random finite fp16 scales for the k-quants gguf only dequantizes (Q4_K,
Q5_K, Q6_K). A Q4_1 block with d == 0, m != 0 and Q4_K sub-blocks with d*sc == 0, dmin*m != 0 are
planted (a zero scale cannot carry an offset as a zero point; they must still be exact). The file is
read back with GGUFReader, and so is the fetched Gemma-3 270M Q4_K_M GGUF when present (one real
tensor of each of its types: Q8_0, Q5_0, Q4_K, Q6_K).

Expected forms (MatMulNBits bits, block, zero points) and agreement with gguf.quants.dequantize:
  Q8_0 (8, 32, none), Q4_0 (4, 32, none), Q5_0 (8, 32, none), Q6_K (8, 16, none): bit for bit
    (scale d or d*sc is exact in fp32, then one rounding of scale * integer, as gguf does).
  Q4_1 (4, 32, float), Q4_K (4, 32, float): zp = o / s rounds, then (q - zp) * s rounds twice;
    gguf rounds s*q - o once (s*q exact). With u = 2^-24 the difference is at most
    u * (o + 2 |x|) + u |x| <= 4u * (15 s + o) per block (s = |scale|, o = |offset|).
  Q5_1, Q5_K (8, 32, none) requantized (8-bit float zero points are rejected by onnxruntime):
    within half a step, max|x| / 254 per block, plus 2^-20 max|x| for the roundings of 1/step
    and q * step.
  F16, BF16, F32: float, equal to gguf's dequantize.
onnxruntime's MatMulNBits (accuracy_level 0) on every QuantizedWeight must equal x . W^T with
gguf's W (the requantized W for Q5_1, Q5_K) within 1e-5 relative.

Mixed formats: a tiny Llama whose q/k are carried as bits 4 float zero points (Q4_K's form) and v
as bits 8 block 16 (Q6_K's form) cannot have q/k/v stacked; the writer must emit three
MatMulNBits. onnxruntime's logits on that int4 graph (accuracy_level 0) equal its logits on an
fp32 graph of the same dequantized weights within 1e-5 of the largest |logit| (fp32 sums in
another order), and run-llm's (RLLM_LOGITS, optional) equal onnxruntime's within 1e-4.
usage: test_gguf_blocks.py [RLLM_LOGITS]
"""
import json
import os
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFWriter
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "convert"))
sys.path.insert(0, HERE)
from gguf_weights import to_weight  # noqa: E402
from ortgenai_writer import LlamaConfig, LlamaLayer, LlamaOnnxWriter, LlamaWeights, write_model  # noqa: E402
from ort_runner import OrtDecoder  # noqa: E402
from quant import QuantizedWeight  # noqa: E402
from quant import quantize as nbits_quantize  # noqa: E402
from test_gemma3 import rel_err, rllm_logits  # noqa: E402
from test_matmulnbits_layout import run_ort  # noqa: E402

ROWS, COLS = 48, 512
QUANTIZED = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.F16, T.BF16, T.F32]
K_QUANTS = {T.Q4_K: (144, [(0, 2), (2, 4)]), T.Q5_K: (176, [(0, 2), (2, 4)]), T.Q6_K: (210, [(208, 210)])}
# (bits, block, zero points: None, "float"), whether bit-exact
FORMS = {
    T.Q8_0: (8, 32, None, True), T.Q4_0: (4, 32, None, True), T.Q5_0: (8, 32, None, True), T.Q6_K: (8, 16, None, True),
    T.Q4_1: (4, 32, "float", False), T.Q4_K: (4, 32, "float", False),
    T.Q5_1: (8, 32, None, False), T.Q5_K: (8, 32, None, False),
}
FLOAT_ZP = (T.Q4_1, T.Q4_K)
GEMMA = os.path.join(os.environ.get("RUNLLM_MODELS", os.path.expanduser("~/.cache/run-llm")), "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")


def random_k_blocks(rng, qt) -> np.ndarray:
    """[ROWS, bytes] of random k-quant super-blocks with finite fp16 scales of either sign."""
    size, halves = K_QUANTS[qt]
    raw = rng.integers(0, 256, (ROWS, COLS // 256, size), dtype=np.uint8)
    for a, b in halves:
        d = (rng.uniform(1e-4, 2e-3, (ROWS, COLS // 256)) * rng.choice([-1, 1], (ROWS, COLS // 256))).astype(np.float16)
        raw[..., a:b] = d.view(np.uint8).reshape(ROWS, COLS // 256, 2)
    if qt == T.Q4_K:
        # row 0: d = 0 in super-block 0; row 1: sc = 0 (sub-blocks 0-3) with m != 0 in super-block 0
        raw[0, 0, 0:2] = 0
        raw[1, 0, 4:8] = 0
        raw[1, 0, 8:12] |= 0x21
    return raw.reshape(ROWS, -1)


def write_gguf(path: str, rng) -> None:
    w = (rng.standard_normal((ROWS, COLS)) * 0.05 + 0.01).astype(np.float32)
    writer = GGUFWriter(path, "llama")
    for qt in QUANTIZED:
        data = w if qt == T.F32 else quantize(w, qt)
        if qt == T.Q4_1:
            data[0, 0:2] = 0  # d = 0, m != 0 in row 0's first block
        writer.add_tensor(qt.name, data, raw_dtype=None if qt == T.F32 else qt)
    for qt in K_QUANTS:
        writer.add_tensor(qt.name, random_k_blocks(rng, qt), raw_dtype=qt)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check(t, rng, label: str) -> list[str]:
    qt = t.tensor_type
    n, k = int(t.shape[1]), int(t.shape[0])
    ref = dequantize(np.asarray(t.data), qt).reshape(n, k).astype(np.float32)
    got = to_weight(t)
    if qt not in FORMS:
        ok = not isinstance(got, QuantizedWeight) and np.array_equal(got, ref)
        print(f"{'OK' if ok else 'FAIL'}: {label}: read as float, {'equal' if ok else 'not equal'} to gguf's dequantize")
        return [] if ok else [f"{label}: float read differs from gguf.quants.dequantize"]
    bits, block, zp, exact = FORMS[qt]
    form = (got.bits, got.block, None if got.zero_points is None else str(got.zero_points.dtype)) if isinstance(got, QuantizedWeight) else "float"
    want_form = (bits, block, None if zp is None else "float32")
    if form != want_form:
        return [f"{label}: expected MatMulNBits {want_form}, got {form}"]
    deq = got.dequantize()
    err = np.abs(deq - ref).reshape(n, -1, block)
    if exact:
        bound = np.zeros((n, k // block))
    elif qt in FLOAT_ZP:
        s = np.abs(got.scales)
        bound = 4 * 2.0**-24 * (15 * s + np.abs(got.zero_points * got.scales))
    else:
        bound = np.abs(ref).reshape(n, -1, block).max(axis=2) * (1 / 254 + 2.0**-20)
    worst = float((err.max(axis=2) - bound).max())
    failures = []
    if worst > 0:
        failures.append(f"{label}: dequantized blocks exceed the bound by {worst:.3g}")
    x = rng.standard_normal((2, k)).astype(np.float32)
    want = x @ (ref if exact or qt in FLOAT_ZP else deq).T
    rel = float(np.abs(run_ort(got, x) - want).max() / np.abs(want).max())
    if rel > 1e-5:
        failures.append(f"{label}: onnxruntime MatMulNBits differs from x . W^T by {rel:.3g} relative")
    print(
        f"{'OK' if not failures else 'FAIL'}: {label}: MatMulNBits bits {bits} block {block} zp {zp}, "
        f"max |deq - gguf| {float(err.max()):.3g} ({'exact' if exact else 'bound met' if worst <= 0 else 'over bound'}), "
        f"onnxruntime rel err {rel:.3g}"
    )
    return failures


def float_zp(w: np.ndarray) -> QuantizedWeight:
    """Asymmetric bits 4 block 32 with its zero points as float (the form of carried Q4_1/Q4_K)."""
    qw = nbits_quantize(w, 4, 32, asym=True)
    qw.zero_points = qw.zero_points_float()
    return qw


def check_mixed_qkv(rng, driver: str | None) -> list[str]:
    import onnx

    cfg = LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=96, num_layers=2, num_heads=4, num_kv_heads=2,
                      head_dim=16, context_length=64)

    def r(n, k):
        return (rng.standard_normal((n, k)) * 0.2).astype(np.float32)

    layers = [
        LlamaLayer(
            input_norm=1 + r(1, 64)[0] * 0.1, q=float_zp(r(64, 64)), k=float_zp(r(32, 64)), v=nbits_quantize(r(32, 64), 8, 16),
            o=float_zp(r(64, 64)), post_norm=1 + r(1, 64)[0] * 0.1, gate=nbits_quantize(r(96, 64), 4, 32),
            up=nbits_quantize(r(96, 64), 4, 32), down=nbits_quantize(r(64, 96), 4, 32),
        )
        for _ in range(cfg.num_layers)
    ]
    weights = LlamaWeights(embed=r(64, 64), layers=layers, final_norm=np.ones(64, np.float32), lm_head=nbits_quantize(r(64, 64), 8, 32))

    def deq(w):
        return w.dequantize() if isinstance(w, QuantizedWeight) else w

    float_layers = [LlamaLayer(**{f: deq(getattr(x, f)) for f in LlamaLayer.__dataclass_fields__}) for x in layers]
    float_weights = LlamaWeights(embed=weights.embed, layers=float_layers, final_norm=weights.final_norm, lm_head=deq(weights.lm_head))
    ids = [3, 17, 9, 40, 22, 5, 61, 8]
    failures = []
    with tempfile.TemporaryDirectory() as d:
        q_dir, f_dir = os.path.join(d, "int4"), os.path.join(d, "fp32")
        os.makedirs(q_dir)
        writer = LlamaOnnxWriter(cfg, "int4", accuracy_level=0)
        onnx.save_model(writer.build(weights), os.path.join(q_dir, "model.onnx"))
        with open(os.path.join(q_dir, "genai_config.json"), "w") as f:
            json.dump(writer.genai_config(), f)
        write_model(cfg, float_weights, f_dir, "fp32")
        forms = {}
        for n in onnx.load(os.path.join(q_dir, "model.onnx")).graph.node:
            if n.op_type == "MatMulNBits" and n.name.startswith("/model/layers.0/attn/"):
                a = {x.name: x.i for x in n.attribute}
                forms[n.name.split("/")[4]] = (a["bits"], a["block_size"], len(n.input))  # 4 inputs: zero points
        want = {"q_proj": (4, 32, 4), "k_proj": (4, 32, 4), "v_proj": (8, 16, 3), "o_proj": (4, 32, 4)}
        if forms != want:
            failures.append(f"mixed q/k/v: layer 0 attention MatMulNBits {forms}, expected {want}")
        got = OrtDecoder(q_dir).step(ids)
        ref = OrtDecoder(f_dir).step(ids)
        e = rel_err(got, ref)
        if e > 1e-5:
            failures.append(f"mixed q/k/v: onnxruntime on the int4 graph differs from the fp32 graph by {e:.3g}")
        msg = f"mixed q/k/v: three MatMulNBits, onnxruntime int4 vs fp32 graph {e:.3g}"
        if driver:
            ours = rllm_logits(driver, q_dir, ids, 0)[0]
            e2 = rel_err(ours, got)
            if e2 > 1e-4:
                failures.append(f"mixed q/k/v: run-llm differs from onnxruntime by {e2:.3g}")
            msg += f", run-llm vs onnxruntime {e2:.3g}"
    print(f"{'OK' if not failures else 'FAIL'}: {msg}")
    return failures


def main() -> int:
    rng = np.random.default_rng(3)
    failures = check_mixed_qkv(rng, sys.argv[1] if len(sys.argv) > 1 else None)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "blocks.gguf")
        write_gguf(path, rng)
        for t in GGUFReader(path).tensors:
            failures += check(t, rng, f"synthetic {t.tensor_type.name}")
    if os.path.isfile(GEMMA):
        seen = set()
        for t in GGUFReader(GEMMA).tensors:
            if t.name.startswith("blk.") and t.tensor_type in FORMS and t.tensor_type not in seen:
                seen.add(t.tensor_type)
                failures += check(t, rng, f"Gemma {t.name} {t.tensor_type.name}")
    else:
        print(f"SKIP (real tensors): {GEMMA} not found; run scripts/fetch_models.sh")
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("OK: GGUF block types match gguf's dequantization")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
