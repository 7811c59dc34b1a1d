"""Times onnxruntime's MatMulNBits (CPU EP) on random weights; prints one JSON row.

A graph of `copies` independent MatMulNBits nodes sharing one input makes the
weight working set larger than L3 for GEMV, as bench_kernels does for ours.
Usage: ref_matmulnbits.py M K N bits block accuracy_level threads copies
"""
import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def build(M, K, N, bits, block, level, copies, rng):
    nb = (K + block - 1) // block
    inits, nodes, outputs = [], [], []
    for i in range(copies):
        b = rng.integers(0, 256, size=(N, nb, block * bits // 8), dtype=np.uint8)
        s = rng.uniform(0.001, 0.02, size=(N * nb,)).astype(np.float32)
        inits += [helper.make_tensor(f"B{i}", TensorProto.UINT8, b.shape, b.tobytes(), raw=True),
                  helper.make_tensor(f"S{i}", TensorProto.FLOAT, s.shape, s.tobytes(), raw=True)]
        nodes.append(helper.make_node("MatMulNBits", ["A", f"B{i}", f"S{i}"], [f"Y{i}"], domain="com.microsoft",
                                      K=K, N=N, bits=bits, block_size=block, accuracy_level=level))
        outputs.append(helper.make_tensor_value_info(f"Y{i}", TensorProto.FLOAT, [M, N]))
    graph = helper.make_graph(nodes, "mnb", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [M, K])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    return model


def main():
    M, K, N, bits, block, level, threads, copies = (int(x) for x in sys.argv[1:9])
    rng = np.random.default_rng(0)
    model = build(M, K, N, bits, block, level, copies, rng)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    a = rng.standard_normal((M, K), dtype=np.float32)
    sess.run(None, {"A": a})
    runs, t0 = 0, time.perf_counter()
    while True:
        sess.run(None, {"A": a})
        runs += 1
        el = time.perf_counter() - t0
        if el > 1.0 and runs >= 3:
            break
    sec = el / runs / copies
    wbytes = N * ((K + block - 1) // block) * (block * bits // 8 + 4)
    print(json.dumps({"kernel": f"onnxruntime_matmulnbits_acc{level}", "isa": "ort", "M": M, "K": K, "N": N,
                      "bits": bits, "block": block, "threads": threads, "seconds": sec,
                      "weight_gb_per_s": wbytes / sec / 1e9, "gops": 2.0 * M * N * K / sec / 1e9}))


if __name__ == "__main__":
    main()
