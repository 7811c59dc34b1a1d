"""run-llm quantize against independent references.

1. stories260K-fp32 to int4, int8 and asymmetric int4/block 16: every MatMulNBits initializer
   equals scripts/convert/quant.py's bytes, and each printed relative error (and the total)
   equals numpy's ||W - dequant(quant(W))|| / ||W||; the printed sizes equal the initializers'.
2. A small graph built with onnx.helper (MatMul, Gemm transB + bias with K not a multiple of
   the block, MatMul on Transpose(E) as a tied lm_head, Gather(E), MatMul on a computed B):
   three nodes become MatMulNBits, the computed one is left and reported, E stays for Gather,
   the Transpose goes; onnxruntime runs the result to numpy's outputs with quant.py's
   dequantized weights; --keep (substring and regex) leaves the matching nodes.
3. Bad input (missing or truncated file, unsupported bits/block, a NaN weight) fails with a
   message naming the file, node or tensor.
usage: check_quantize.py RUN_LLM MODELS_DIR SCRATCH_DIR
"""
import os
import re
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "scripts", "convert"))
sys.path.insert(0, os.path.join(here, "..", "..", "convert"))
try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from quant import quantize
except ImportError as e:
    print(f"SKIP: {e}")
    raise SystemExit(77)

run_llm, models, scratch = sys.argv[1:4]
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
failures = []


def check(cond: bool, what: str) -> None:
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([run_llm, "quantize", *args], capture_output=True, text=True)


def initializers(path: str) -> dict:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


TENSOR = re.compile(r"^tensor (\S+)\s+(\d+)x(\d+)\s+(\S+)\s+(\d+)\s+(\d+)$", re.M)

# ---- 1. stories260K ----------------------------------------------------------------------
fp32 = os.path.join(models, "stories260K-fp32")
if not os.path.isfile(os.path.join(fp32, "model.onnx")):
    print(f"SKIP: {fp32} missing (scripts/convert/make_test_models.sh)")
    raise SystemExit(77)
src = initializers(os.path.join(fp32, "model.onnx"))
for bits, block, asym in ((4, 32, False), (8, 32, False), (4, 16, True)):
    tag = f"bits {bits} block {block}{' asym' if asym else ''}"
    out_dir = os.path.join(scratch, f"stories-q{bits}-{block}{'a' if asym else ''}")
    args = [fp32, out_dir, "--bits", str(bits), "--block", str(block)] + (["--asym"] if asym else [])
    r = run(*args)
    check(r.returncode == 0, f"{tag}: quantize exits 0" + ("" if r.returncode == 0 else ": " + r.stderr))
    got = initializers(os.path.join(out_dir, "model.onnx"))
    rows = TENSOR.findall(r.stdout)
    check(len(rows) == 26, f"{tag}: 26 tensors reported (got {len(rows)})")
    same_bytes, err_ok, d2, r2 = True, True, 0.0, 0.0
    for name, n, k, err, before, after in rows:
        w = src[name].T  # MatMul B [K, N] -> W [N, K]
        q = quantize(np.ascontiguousarray(w), bits, block, asym)
        same_bytes &= np.array_equal(got[f"{name}_Q{bits}"], q.data)
        same_bytes &= np.array_equal(got[f"{name}_scales"], q.scales)
        if asym:
            same_bytes &= np.array_equal(got[f"{name}_zero_points"], q.zero_points)
        diff = w.astype(np.float64) - q.dequantize().astype(np.float64)
        ref = float(np.sqrt((diff ** 2).sum() / (w.astype(np.float64) ** 2).sum()))
        err_ok &= abs(float(err) - ref) <= 1e-5 * ref
        d2 += (diff ** 2).sum()
        r2 += (w.astype(np.float64) ** 2).sum()
        err_ok &= int(before) == w.nbytes and int(after) == q.data.nbytes + q.scales.nbytes + (
            q.zero_points.nbytes if asym else 0)
    check(same_bytes, f"{tag}: every B/scales/zero_points equals quant.py's")
    check(err_ok, f"{tag}: per-tensor relative errors and byte counts equal numpy's")
    total = re.search(r"relative error (\S+)", r.stdout)
    check(total is not None and abs(float(total.group(1)) - np.sqrt(d2 / r2)) <= 1e-5 * np.sqrt(d2 / r2),
          f"{tag}: total relative error equals numpy's sqrt(sum diff^2 / sum W^2)")
    sizes = re.search(r"initializers: ([0-9.]+) MB -> ([0-9.]+) MB", r.stdout)
    want = (sum(a.nbytes for a in src.values()) / 1e6, sum(a.nbytes for a in got.values()) / 1e6)
    check(sizes is not None and abs(float(sizes.group(1)) - want[0]) < 1e-3 and abs(float(sizes.group(2)) - want[1]) < 1e-3,
          f"{tag}: printed sizes {sizes.groups() if sizes else None} equal the initializers' {want}")
    for f in ("genai_config.json", "tokenizer.json", "tokenizer_config.json"):
        check(os.path.isfile(os.path.join(out_dir, f)), f"{tag}: {f} copied")

# ---- 2. a small graph with every rewrite case ----------------------------------------------
rng = np.random.default_rng(1)
W1 = rng.standard_normal((32, 48)).astype(np.float32)
G = rng.standard_normal((40, 48)).astype(np.float32)  # Gemm transB: [N=40, K=48]
bias = rng.standard_normal(40).astype(np.float32)
E = rng.standard_normal((24, 40)).astype(np.float32)  # tied: embedding [V, D], lm_head = E^T
W2 = rng.standard_normal((40, 8)).astype(np.float32)
nodes = [
    helper.make_node("MatMul", ["X", "W1"], ["Y1"], "mm1"),
    helper.make_node("Gemm", ["Y1", "G", "bias"], ["Y2"], "gemm", transB=1),
    helper.make_node("Transpose", ["E"], ["Et"], "tr", perm=[1, 0]),
    helper.make_node("MatMul", ["Y2", "Et"], ["logits"], "lm_head"),
    helper.make_node("Gather", ["E", "ids"], ["emb"], "gather"),
    helper.make_node("Relu", ["W2"], ["D"], "relu"),
    helper.make_node("MatMul", ["emb", "D"], ["y"], "mm_dyn"),
]
graph = helper.make_graph(
    nodes, "synthetic",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 32]),
     helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch"])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 24]),
     helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
    [numpy_helper.from_array(a, n) for a, n in ((W1, "W1"), (G, "G"), (bias, "bias"), (E, "E"), (W2, "W2"))])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
synth = os.path.join(scratch, "synth.onnx")
onnx.save(model, synth, save_as_external_data=True, all_tensors_to_one_file=True, location="synth.onnx.data",
          size_threshold=256)
X = rng.standard_normal((3, 32)).astype(np.float32)
ids = np.array([0, 23, 5], np.int64)


def deq(w, bits=4, block=32):
    return quantize(np.ascontiguousarray(w), bits, block).dequantize()


for keep, kept in (("", set()), ("gemm", {"gemm"}), ("^lm_|W1", {"lm_head", "mm1"})):
    out = os.path.join(scratch, f"synth_q_{len(kept)}.onnx")
    r = run(synth, out, "--bits", "4", *(["--keep", keep] if keep else []))
    check(r.returncode == 0, f"synthetic --keep '{keep}': exit 0" + ("" if r.returncode == 0 else ": " + r.stderr))
    m = onnx.load(out)
    ops = {n.name: n.op_type for n in m.graph.node}
    nbits = {n for n, op in ops.items() if op == "MatMulNBits"}
    want = {f"{n}_Q4" for n in ("mm1", "gemm", "lm_head") if n not in kept}
    check(nbits == want, f"synthetic --keep '{keep}': MatMulNBits nodes {sorted(nbits)} == {sorted(want)}")
    check(("tr" in ops) == ("lm_head" in kept), f"synthetic --keep '{keep}': folded Transpose removed, kept one stays")
    check("E" in {t.name for t in m.graph.initializer}, f"synthetic --keep '{keep}': E stays for Gather")
    check(re.search(r"left as is: node 'mm_dyn' \(ai.onnx:MatMul\): B 'D' is not a constant", r.stdout) is not None,
          f"synthetic --keep '{keep}': the computed-B MatMul is reported")
    for n in kept:
        check(re.search(rf"left as is: node '{n}' .*kept by --keep", r.stdout) is not None, f"--keep reports '{n}'")
    check(any(o.domain == "com.microsoft" for o in m.opset_import), "com.microsoft opset imported")
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    logits, y = sess.run(["logits", "y"], {"X": X, "ids": ids})
    w1 = W1 if "mm1" in kept else deq(W1.T).T
    g = G if "gemm" in kept else deq(G)
    e = E if "lm_head" in kept else deq(E)
    ref_logits = ((X @ w1) @ g.T + bias) @ e.T
    ref_y = E[ids] @ np.maximum(W2, 0)
    err = max(np.abs(logits - ref_logits).max() / np.abs(ref_logits).max(), np.abs(y - ref_y).max() / np.abs(ref_y).max())
    check(err < 1e-5, f"synthetic --keep '{keep}': onnxruntime output vs numpy with quant.py weights: {err:.1e}")

# ---- 3. bad input ---------------------------------------------------------------------------
r = run("/nonexistent/model", os.path.join(scratch, "x"), "--bits", "4")
check(r.returncode == 1 and "/nonexistent/model" in r.stderr, f"missing input named: {r.stderr.strip()}")
r = run(fp32, os.path.join(scratch, "x"), "--bits", "3")
check(r.returncode == 1 and "unsupported bit width 3" in r.stderr, f"--bits 3 refused: {r.stderr.strip()}")
r = run(fp32, os.path.join(scratch, "x"), "--bits", "4", "--block", "48")
check(r.returncode == 1 and "block size 48" in r.stderr, f"--block 48 refused: {r.stderr.strip()}")
r = run(fp32, os.path.join(scratch, "x"))
check(r.returncode == 2 and "--bits" in r.stderr, f"no --bits refused: {r.stderr.strip().splitlines()[0]}")
trunc = os.path.join(scratch, "truncated.onnx")
with open(synth, "rb") as f, open(trunc, "wb") as g_:
    g_.write(f.read()[:200])
r = run(trunc, os.path.join(scratch, "t.onnx"), "--bits", "4")
check(r.returncode == 1 and "truncated.onnx" in r.stderr, f"truncated model named: {r.stderr.strip()[:160]}")

bad_w = W1.copy()
bad_w[3, 5] = np.nan
nan_model = helper.make_model(helper.make_graph(
    [nodes[0]], "nan", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 32])],
    [helper.make_tensor_value_info("Y1", TensorProto.FLOAT, ["batch", 48])], [numpy_helper.from_array(bad_w, "W1")]),
    opset_imports=[helper.make_opsetid("", 17)])
nan_path = os.path.join(scratch, "nan.onnx")
onnx.save(nan_model, nan_path)
r = run(nan_path, os.path.join(scratch, "nan_q.onnx"), "--bits", "8")
check(r.returncode == 1 and "'mm1'" in r.stderr and "'W1'" in r.stderr and "non-finite" in r.stderr,
      f"NaN weight refused, node and tensor named: {r.stderr.strip()}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
