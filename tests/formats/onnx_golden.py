#!/usr/bin/env python3
"""Golden file for test_onnx_backend: what the `onnx` package reads from every
model and TensorProto of Debian's libonnx-testdata.

usage: onnx_golden.py OUT.json [DATA_ROOT]

Two sets: the data set, and synthetic tensors and models written next to OUT
(OUT minus .json + "_synthetic/") with onnx.helper/numpy_helper so every
element type is read both from raw_data and from its typed field (the data
set has no bfloat16, 4-bit, float8 or complex tensors and few typed fields).
For each model.onnx (onnx.load): ir_version, opsets, producer, and the graph
recursively (nodes with every attribute, graph inputs/outputs with their
tensor types and shapes, initializers and attribute tensors with dtype, dims
and a hash of their values from numpy_helper.to_array).  For each
test_data_set_*/{input,output}_N.pb: the kind of value the model declares for
it (tensor, sequence, optional, map) and, for tensors, dtype, dims and hash.

Tensor values are hashed as "wordsum64" over their canonical element bytes:
the little-endian bytes of the C-order array, where bool is one byte per
element, float16/bfloat16 are their 16-bit patterns, 4-bit types are unpacked
to one (sign-extended) byte per element, and a string tensor is the
concatenation of u64le(len) + utf-8 bytes per element.  The bytes are zero
padded to a multiple of 8 and read as u64le words w_i; then
  h = n_bytes * K0 + sum_i ((w_i xor (i * K1)) * K2)   (mod 2**64)
K2 is odd, so any one changed word changes h.  A sum rather than FNV-1a keeps
the hash vectorised in numpy (the data set is 40 MB).

Tensors of an element type rllm::DType does not have (float8, complex, 2-bit,
float4...) and segmented tensors are recorded as the error our reader must
give; a model holding one must fail to load with that error.

Exit code 77 (ctest SKIP_RETURN_CODE) when the onnx package or the data set
is missing.
"""

import glob
import json
import os
import re
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:
    print(f"SKIP: the onnx Python package is not available ({e})")
    sys.exit(77)

DEFAULT_ROOT = "/usr/share/libonnx-testdata/data"

K0 = 0x9E3779B97F4A7C15
K1 = 0xC2B2AE3D27D4EB4F
K2 = 0x165667B19E3779F9

# Element types rllm::DType (formats/dtype.h) represents; anything else must be
# refused with "unsupported data_type N".
P = onnx.TensorProto
SUPPORTED = {
    P.FLOAT, P.UINT8, P.INT8, P.UINT16, P.INT16, P.INT32, P.INT64, P.STRING, P.BOOL,
    P.FLOAT16, P.DOUBLE, P.UINT32, P.UINT64, P.BFLOAT16, P.UINT4, P.INT4,
}
FOUR_BIT = {P.UINT4: np.uint8, P.INT4: np.int8}


def wordsum64(b: bytes) -> str:
    n = len(b)
    pad = (-n) % 8
    w = np.frombuffer(b + b"\0" * pad, dtype="<u8")
    i = np.arange(w.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        s = ((w ^ (i * np.uint64(K1))) * np.uint64(K2)).sum(dtype=np.uint64)
    h = (n * K0 + int(s)) % (1 << 64)
    return f"{h:016x}"


def canonical_bytes(t: onnx.TensorProto, a: np.ndarray) -> bytes:
    if t.data_type == P.STRING:
        out = bytearray()
        for s in a.reshape(-1).tolist():
            s = s.encode("utf-8") if isinstance(s, str) else bytes(s)
            out += len(s).to_bytes(8, "little") + s
        return bytes(out)
    a = np.ascontiguousarray(a)
    if t.data_type in FOUR_BIT:
        return a.astype(FOUR_BIT[t.data_type]).tobytes()
    if t.data_type in (P.FLOAT16, P.BFLOAT16):
        return a.view(np.uint16).astype("<u2").tobytes()
    if t.data_type == P.BOOL:
        return a.view(np.uint8).tobytes()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def tensor_entry(t: onnx.TensorProto) -> dict:
    e = {"name": t.name}
    if t.HasField("segment"):
        e["error"] = "segmented tensors are not supported"
        return e
    if t.data_type not in SUPPORTED:
        e["error"] = f"unsupported data_type {t.data_type}"
        return e
    try:
        a = numpy_helper.to_array(t)
    except Exception as ex:  # the reference refuses it: so must we
        e["error"] = ""
        e["reference_error"] = str(ex)
        return e
    e["dtype"] = t.data_type
    e["dims"] = [int(d) for d in t.dims]
    e["hash"] = wordsum64(canonical_bytes(t, a))
    return e


def f32_bits(x: float) -> int:
    return int(np.array([x], dtype="<f4").view("<u4")[0])


def value_info(vi: onnx.ValueInfoProto) -> dict:
    e = {"name": vi.name, "elem": 0, "shape": None}
    if vi.type.WhichOneof("value") == "tensor_type":
        tt = vi.type.tensor_type
        e["elem"] = tt.elem_type
        if tt.HasField("shape"):
            e["shape"] = [
                [d.dim_value if d.HasField("dim_value") else -1,
                 d.dim_param if d.HasField("dim_param") else ""]
                for d in tt.shape.dim
            ]
    return e


def attribute(a: onnx.AttributeProto) -> dict:
    e = {
        "name": a.name,
        "type": a.type,
        "i": a.i,
        "f": f32_bits(a.f),
        "s": a.s.hex(),
        "ints": list(a.ints),
        "floats": [f32_bits(x) for x in a.floats],
        "strings": [s.hex() for s in a.strings],
        "tensors": [tensor_entry(t) for t in ([a.t] if a.HasField("t") else []) + list(a.tensors)],
        "graphs": [graph(g) for g in ([a.g] if a.HasField("g") else []) + list(a.graphs)],
    }
    return e


def graph(g: onnx.GraphProto) -> dict:
    return {
        "name": g.name,
        "nodes": [
            {
                "name": n.name,
                "op": f"{'' if n.domain == 'ai.onnx' else n.domain}:{n.op_type}",
                "inputs": list(n.input),
                "outputs": list(n.output),
                "attrs": [attribute(a) for a in n.attribute],
            }
            for n in g.node
        ],
        "inputs": [value_info(v) for v in g.input],
        "outputs": [value_info(v) for v in g.output],
        "value_info": len(g.value_info),
        "initializers": [tensor_entry(t) for t in g.initializer],
    }


def first_error(g: dict) -> str | None:
    """The error our reader meets first, in wire order (nodes, then initializers)."""
    for n in g["nodes"]:
        for a in n["attrs"]:
            for t in a["tensors"]:
                if "error" in t:
                    return t["error"]
            for sg in a["graphs"]:
                err = first_error(sg)
                if err is not None:
                    return err
    for t in g["initializers"]:
        if "error" in t:
            return t["error"]
    return None


def model_entry(root: str, path: str) -> tuple[dict, onnx.ModelProto]:
    m = onnx.load(path, load_external_data=False)
    e = {
        "path": os.path.relpath(path, root),
        "ir_version": m.ir_version,
        "opsets": [["" if o.domain == "ai.onnx" else o.domain, o.version] for o in m.opset_import],
        "producer_name": m.producer_name,
        "graph": graph(m.graph),
    }
    err = first_error(e["graph"])
    if err is not None:
        e["error"] = err
    return e, m


def pb_entry(root: str, path: str, m: onnx.ModelProto) -> dict:
    e = {"path": os.path.relpath(path, root)}
    kind, index = re.match(r"(input|output)_(\d+)\.pb$", os.path.basename(path)).groups()
    values = m.graph.input if kind == "input" else m.graph.output
    index = int(index)
    declared = values[index].type.WhichOneof("value") if index < len(values) else None
    e["kind"] = {"sequence_type": "sequence", "optional_type": "optional",
                 "map_type": "map", "sparse_tensor_type": "sparse"}.get(declared, "tensor")
    if e["kind"] != "tensor":
        return e
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    e.update(tensor_entry(t))
    return e


def synthetic_set(folder: str) -> dict:
    """Tensors of every element type, raw and typed, and two models holding them."""
    import ml_dtypes

    os.makedirs(folder, exist_ok=True)
    h = onnx.helper
    values = {
        P.FLOAT: [1.5, -0.0, float("inf"), float("nan"), 1e-40],
        P.DOUBLE: [1.5, -0.0, float("-inf"), 1e-310],
        P.FLOAT16: [1.5, -2.0, 65504.0, float("nan")],
        P.BFLOAT16: [1.5, -2.0, 3.0e38, 1.0e-3],
        P.INT8: [-128, -1, 0, 127],
        P.UINT8: [0, 1, 255],
        P.INT16: [-32768, -1, 32767],
        P.UINT16: [0, 65535],
        P.INT32: [-(2**31), -1, 2**31 - 1],
        P.INT64: [-(2**63), -1, 2**63 - 1],
        P.UINT32: [0, 2**32 - 1],
        P.UINT64: [0, 2**64 - 1],
        P.BOOL: [True, False, True],
        P.INT4: [-8, -1, 0, 3, 7],
        P.UINT4: [0, 1, 8, 15, 9],
        P.STRING: [b"", b"ab", "\u00e9".encode()],
    }
    np_types = {P.BFLOAT16: ml_dtypes.bfloat16, P.INT4: ml_dtypes.int4, P.UINT4: ml_dtypes.uint4}
    unsupported = {
        P.FLOAT8E4M3FN: [1.0, 2.0], P.FLOAT8E4M3FNUZ: [1.0], P.FLOAT8E5M2: [1.0],
        P.FLOAT8E5M2FNUZ: [1.0], P.FLOAT8E8M0: [1.0], P.FLOAT4E2M1: [1.0, 2.0],
        P.COMPLEX64: [1 + 2j], P.COMPLEX128: [1 + 2j], P.INT2: [1, -1], P.UINT2: [1, 3],
    }
    tensors = []
    for dt, vals in values.items():
        name = P.DataType.Name(dt).lower()
        tensors.append(h.make_tensor(f"{name}_typed", dt, [len(vals)], vals))
        if dt != P.STRING:
            npt = np_types.get(dt, h.tensor_dtype_to_np_dtype(dt))
            tensors.append(numpy_helper.from_array(np.array(vals, dtype=npt), f"{name}_raw"))
    tensors += [
        h.make_tensor("scalar", P.FLOAT, [], [2.5]),
        h.make_tensor("empty_typed", P.FLOAT, [0, 3], []),
        numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty_raw"),
        numpy_helper.from_array(np.arange(6, dtype=np.int64).reshape(2, 3), "int64_2x3"),
        h.make_tensor("int4_2x3_typed", P.INT4, [2, 3], [-8, 7, 1, -2, 3, -4]),
    ]
    # Values in a field the data type does not use: numpy_helper ignores the field.
    stray = P(name="int16_with_stray_int64_data", data_type=P.INT16, dims=[2],
              int32_data=[-3, 7], int64_data=[99])
    misplaced = P(name="float_values_in_int32_data", data_type=P.FLOAT, dims=[1],
                  int32_data=[1, 2, 3, 4])
    tensors.append(stray)
    refused = [misplaced] + [h.make_tensor(f"{P.DataType.Name(dt).lower()}", dt, [len(v)], v)
               for dt, v in unsupported.items()]
    entries = []
    for t in tensors + refused:
        rel = t.name + ".pb"
        with open(os.path.join(folder, rel), "wb") as f:
            f.write(t.SerializeToString())
        e = {"path": rel, "kind": "tensor"}
        e.update(tensor_entry(t))
        entries.append(e)

    def save(name, inits, nodes=()):
        g = h.make_graph(list(nodes), name, [], [], initializer=inits)
        m = h.make_model(g, producer_name="onnx_golden.py",
                         opset_imports=[h.make_opsetid("", 21)])
        path = os.path.join(folder, name + ".onnx")
        onnx.save(m, path)
        return model_entry(folder, path)[0]

    const = h.make_node("Constant", [], ["c"], name="const_bf16",
                        value=h.make_tensor("c", P.BFLOAT16, [2], [1.0, -3.0]))
    models = [save("all_types", tensors, [const]),
              save("float8_initializer", tensors + refused[1:2])]

    # Two serialized ModelProtos back to back: protobuf merges the two graphs.
    first = h.make_graph([h.make_node("Neg", ["a"], ["b"], name="neg")], "first",
                         [h.make_tensor_value_info("a", P.FLOAT, [2])],
                         [h.make_tensor_value_info("b", P.FLOAT, [2])], initializer=[tensors[0]])
    second = h.make_graph([h.make_node("Abs", ["b"], ["c"], name="abs")], "second", [],
                          [h.make_tensor_value_info("c", P.FLOAT, ["n"])])
    merged = (h.make_model(first, opset_imports=[h.make_opsetid("", 21)]).SerializeToString() +
              onnx.ModelProto(graph=second).SerializeToString())
    with open(os.path.join(folder, "graph_field_twice.onnx"), "wb") as f:
        f.write(merged)
    models.append(model_entry(folder, os.path.join(folder, "graph_field_twice.onnx"))[0])
    return {"name": "synthetic", "root": folder, "models": models, "tensors": entries}


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print("usage: onnx_golden.py OUT.json [DATA_ROOT]")
        return 2
    out = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) == 3 else DEFAULT_ROOT
    models = sorted(glob.glob(os.path.join(root, "*", "*", "model.onnx")))
    if not models:
        print(f"SKIP: no ONNX backend test models under {root} (apt install libonnx-testdata)")
        return 77
    data = {"name": "libonnx-testdata", "root": root, "models": [], "tensors": []}
    for path in models:
        entry, m = model_entry(root, path)
        data["models"].append(entry)
        folder = os.path.dirname(path)
        for pb in sorted(glob.glob(os.path.join(folder, "test_data_set_*", "*put_*.pb"))):
            data["tensors"].append(pb_entry(root, pb, m))
    stem = out[:-5] if out.endswith(".json") else out
    synthetic = synthetic_set(os.path.abspath(stem + "_synthetic"))
    golden = {"onnx_version": onnx.__version__, "sets": [data, synthetic]}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    os.replace(tmp, out)
    for st in golden["sets"]:
        print(f"{out}: {st['name']}: {len(st['models'])} models, {len(st['tensors'])} tensor files "
              f"(onnx {onnx.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
