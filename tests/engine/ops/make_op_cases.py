"""One-op ONNX graphs, run by onnxruntime: writes OUT/<case>/model.onnx with
input_<i>.pb and output_<i>.pb (TensorProtos), for test_op_parity.cpp.
Each op runs in fp32, and in fp16 where ONNX Runtime's CPU provider has it.
Exit 77 (skip) when onnx/onnxruntime are not installed."""
import os
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

rng = np.random.default_rng(0)
F = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16, np.int64: TensorProto.INT64,
     np.bool_: TensorProto.BOOL, np.int32: TensorProto.INT32,
     np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


def rnd(shape, dt=np.float32, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(dt)


def case(out, name, op, inputs, attrs=None, consts=None, domain="", n_out=1, opset=17, out_type=None):
    """inputs: list of (name, array) fed at run time; consts: initializers;
    out_type: the outputs' element type (default: the first input's), or a list of one per output."""
    consts = consts or []
    out_type = out_type if out_type is not None else F[inputs[0][1].dtype.type]
    out_types = out_type if isinstance(out_type, list) else [out_type] * n_out
    node = helper.make_node(op, [n for n, _ in inputs] + [n for n, _ in consts],
                            [f"y{i}" for i in range(n_out)], domain=domain, **(attrs or {}))
    g = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, F[a.dtype.type], a.shape) for n, a in inputs],
        [helper.make_tensor_value_info(f"y{i}", out_types[i], None) for i in range(n_out)],
        [numpy_helper.from_array(a, n) for n, a in consts])
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 8
    write_case(out, name, m, inputs)


def write_case(out, name, m, inputs):
    """Runs model m on inputs with onnxruntime and writes the case folder."""
    res = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {n: a for n, a in inputs})
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(inputs):
        with open(os.path.join(d, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
    for i, r in enumerate(res):
        with open(os.path.join(d, f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(r), f"y{i}").SerializeToString())


def write_exact_u8s8(out, name, a, b, za, zb):
    """exact_0.pb next to onnxruntime's output_0.pb: the exact int32 product
    (a - za) · (b - zb). onnxruntime's U8S8 AVX2 kernel (vpmaddubsw) saturates
    each pair a[2j]·b[2j] + a[2j+1]·b[2j+1] of raw values to int16, and our
    AVX2 kernel does the same, so x86 compares with output_0.pb; kernels that
    multiply exactly (NEON, VNNI, scalar) compare with this file. Checked here
    against onnxruntime on every element none of whose pairs saturates."""
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    exact = (a64 - np.int64(za)) @ (b64 - np.asarray(zb, np.int64))
    kp = a64.shape[-1] + a64.shape[-1] % 2
    ap = np.zeros(a64.shape[:-1] + (kp,), np.int64)
    bp = np.zeros((kp, b64.shape[1]), np.int64)
    ap[..., :a64.shape[-1]], bp[:b64.shape[0]] = a64, b64
    # pairs [..., n, j] = a[..., 2j]·b[2j, n] + a[..., 2j+1]·b[2j+1, n]
    prod = ap[..., None, :] * bp.T
    pairs = prod[..., 0::2] + prod[..., 1::2]
    saturated = ((pairs < -32768) | (pairs > 32767)).any(axis=-1)
    d = os.path.join(out, name)
    ort_y = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "output_0.pb")))
    if not saturated.any() or not np.array_equal(ort_y[~saturated], exact[~saturated]):
        sys.exit(f"{name}: the exact reference disagrees with onnxruntime where no pair saturates"
                 f" (or no pair saturates: {int(saturated.sum())} elements)")
    with open(os.path.join(d, "exact_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(exact.astype(np.int32), "y0").SerializeToString())


def int8_cases(out):
    """Integer quantization ops, and the MatMul patterns onnxruntime's quantization
    tools emit (fused at load into one integer GEMM), each against onnxruntime:
    integer outputs compare exactly. A and B span their full ranges, so the u8 x s8
    cases include pairs of products that saturate int16 in ORT's AVX2 kernel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    u8 = lambda shape, lo=0, hi=256: rng.integers(lo, hi, shape, dtype=np.uint8)
    s8 = lambda shape, lo=-128, hi=128: rng.integers(lo, hi, shape, dtype=np.int8)
    x = rnd((2, 3, 8), np.float32, -3.0, 5.0)
    case(out, "dynamicquantizelinear", "DynamicQuantizeLinear", [("x", x)], n_out=3,
         out_type=[TensorProto.UINT8, TensorProto.FLOAT, TensorProto.UINT8])
    case(out, "dynamicquantizelinear_positive", "DynamicQuantizeLinear", [("x", rnd((5, 7), np.float32, 0.5, 2.0))],
         n_out=3, out_type=[TensorProto.UINT8, TensorProto.FLOAT, TensorProto.UINT8])
    case(out, "quantizelinear_u8_tensor", "QuantizeLinear", [("x", x)],
         consts=[("s", np.array(0.03, np.float32)), ("z", np.array(120, np.uint8))], out_type=TensorProto.UINT8)
    case(out, "quantizelinear_no_zp", "QuantizeLinear", [("x", x)], consts=[("s", np.array(0.02, np.float32))],
         out_type=TensorProto.UINT8)
    case(out, "quantizelinear_s8_axis1", "QuantizeLinear", [("x", x)], {"axis": 1},
         consts=[("s", np.array([0.01, 0.05, 0.2], np.float32)), ("z", np.array([-3, 0, 9], np.int8))],
         out_type=TensorProto.INT8)
    case(out, "dequantizelinear_u8_tensor", "DequantizeLinear", [("x", u8((3, 5)))],
         consts=[("s", np.array(0.037, np.float32)), ("z", np.array(131, np.uint8))], out_type=TensorProto.FLOAT)
    case(out, "dequantizelinear_s8_axis0", "DequantizeLinear", [("x", s8((3, 5)))], {"axis": 0},
         consts=[("s", np.array([0.5, 0.01, 2.0], np.float32)), ("z", np.array([1, -2, 0], np.int8))],
         out_type=TensorProto.FLOAT)
    case(out, "dequantizelinear_i32", "DequantizeLinear", [("x", rng.integers(-100000, 100000, (4, 3), dtype=np.int32))],
         consts=[("s", np.array(0.0007, np.float32))], out_type=TensorProto.FLOAT)
    K, N = 37, 21
    a, b, za, zb = u8((2, 3, K)), s8((K, N)), np.array(127, np.uint8), s8((N,), -5, 6)
    case(out, "matmulinteger_u8s8_colzp", "MatMulInteger", [("a", a)], consts=[("b", b), ("za", za), ("zb", zb)],
         out_type=TensorProto.INT32)
    write_exact_u8s8(out, "matmulinteger_u8s8_colzp", a, b, za, zb)
    a, b = u8((5, K)), s8((K, N))
    case(out, "matmulinteger_u8s8_nozp", "MatMulInteger", [("a", a)], consts=[("b", b)], out_type=TensorProto.INT32)
    write_exact_u8s8(out, "matmulinteger_u8s8_nozp", a, b, 0, 0)
    case(out, "matmulinteger_u8u8_tensor", "MatMulInteger", [("a", u8((4, K)))],
         consts=[("b", u8((K, N))), ("za", np.array(3, np.uint8)), ("zb", np.array(250, np.uint8))],
         out_type=TensorProto.INT32)
    case(out, "matmulinteger_dynamic_b", "MatMulInteger", [("a", u8((3, K))), ("b", u8((K, N))), ("za", np.array(9, np.uint8)),
         ("zb", np.array(128, np.uint8))], out_type=TensorProto.INT32)
    case(out, "matmulintegertofloat", "MatMulIntegerToFloat",
         [("a", u8((2, 3, K)))],
         consts=[("b", s8((K, N))), ("sa", np.array(0.02, np.float32)), ("sb", rnd((N,), np.float32, 0.001, 0.01)), ("za", np.array(100, np.uint8)),
                 ("zb", np.zeros((N,), np.int8)), ("bias", rnd((N,)))], domain="com.microsoft", out_type=TensorProto.FLOAT)

    # quantize_dynamic of x [2, 5, 48] · W [48, 40] + bias, and of a QDQ MatMul.
    w, bias = rnd((48, 40), np.float32, -0.5, 0.5), rnd((40,))
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Add", ["t", "bias"], ["y0"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 48])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias")])
    fp32 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    fp32.ir_version = 8
    xin = [("x", rnd((2, 5, 48), np.float32, -4.0, 4.0))]
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(fp32, os.path.join(tmp, "fp32.onnx"))
        for tag, wt, pc in (("u8_tensor", QuantType.QUInt8, False), ("s8_channel", QuantType.QInt8, True),
                            ("s8_tensor", QuantType.QInt8, False)):
            qpath = os.path.join(tmp, f"{tag}.onnx")
            quantize_dynamic(os.path.join(tmp, "fp32.onnx"), qpath, weight_type=wt, per_channel=pc)
            write_case(out, f"quantize_dynamic_matmul_add_{tag}", onnx.load(qpath), xin)
    wq = s8((48, 40))
    ws = rnd((40,), np.float32, 0.002, 0.02)
    g = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
         helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], axis=1),
         helper.make_node("MatMul", ["xd", "wd"], ["y0"])], "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 48])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(0.035, np.float32), "xs"), numpy_helper.from_array(np.array(118, np.uint8), "xz"),
         numpy_helper.from_array(wq, "wq"), numpy_helper.from_array(ws, "ws")])
    qdq = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    qdq.ir_version = 8
    write_case(out, "qdq_matmul_s8_channel", qdq, xin)


def main():
    out = sys.argv[1]
    for dt, tag in ((np.float32, "f32"), (np.float16, "f16")):
        x = rnd((2, 3, 8), dt)
        case(out, f"add_bcast_{tag}", "Add", [("a", x), ("b", rnd((8,), dt))])
        case(out, f"mul_{tag}", "Mul", [("a", x), ("b", rnd((2, 3, 8), dt))])
        case(out, f"sub_{tag}", "Sub", [("a", x), ("b", rnd((3, 1), dt))])
        case(out, f"div_{tag}", "Div", [("a", x), ("b", rnd((2, 1, 8), dt, 0.5, 2.0))])
        case(out, f"sigmoid_{tag}", "Sigmoid", [("x", x)])
        case(out, f"softmax_{tag}", "Softmax", [("x", x)], {"axis": -1})
        case(out, f"matmul_const_{tag}", "MatMul", [("a", x)], consts=[("w", rnd((8, 5), dt))])
        case(out, f"simplified_ln_{tag}", "SimplifiedLayerNormalization", [("x", x)], {"epsilon": 1e-5},
             consts=[("g", rnd((8,), dt))])
        case(out, f"skip_simplified_ln_{tag}", "SkipSimplifiedLayerNormalization", [("x", x), ("s", rnd((2, 3, 8), dt))],
             {"epsilon": 1e-5}, consts=[("g", rnd((8,), dt))], domain="com.microsoft")
        case(out, f"layernorm_{tag}", "LayerNormalization", [("x", x)], {"epsilon": 1e-5},
             consts=[("g", rnd((8,), dt)), ("b", rnd((8,), dt))])
        case(out, f"rotary_{tag}", "RotaryEmbedding", [("x", rnd((1, 3, 16), dt)), ("pos", np.array([[0, 1, 2]], np.int64))],
             {"num_heads": 2}, consts=[("cos", rnd((8, 4), dt)), ("sin", rnd((8, 4), dt))], domain="com.microsoft")
        case(out, f"cast_to_f32_{tag}", "Cast", [("x", x)], {"to": TensorProto.FLOAT}, out_type=TensorProto.FLOAT)
    x = rnd((2, 3, 8))
    for op in ("Sqrt", "Reciprocal", "Exp"):
        case(out, f"{op.lower()}_f32", op, [("x", rnd((2, 4), np.float32, 0.1, 3.0))])
    for op in ("Neg", "Tanh", "Erf", "Relu", "Abs"):
        case(out, f"{op.lower()}_f32", op, [("x", x)])
    case(out, "pow_f32", "Pow", [("x", rnd((2, 4), np.float32, 0.1, 3.0)), ("e", np.array(2.0, np.float32))])
    case(out, "gelu_f32", "Gelu", [("x", x)], domain="com.microsoft")
    case(out, "fastgelu_f32", "FastGelu", [("x", x)], domain="com.microsoft")
    case(out, "matmul_dyn_batched_f32", "MatMul", [("a", rnd((2, 3, 4, 5))), ("b", rnd((2, 1, 5, 6)))])
    case(out, "gemm_f32", "Gemm", [("a", rnd((3, 4))), ("b", rnd((5, 4))), ("c", rnd((5,)))], {"transB": 1, "alpha": 0.5, "beta": 2.0})
    ints = np.array([[3, 1, 4], [1, 5, 9]], np.int64)
    case(out, "gather_axis1_f32", "Gather", [("x", rnd((4, 6, 2))), ("i", np.array([5, -1, 0], np.int64))], {"axis": 1})
    case(out, "transpose_f32", "Transpose", [("x", rnd((2, 3, 4)))], {"perm": [2, 0, 1]})
    case(out, "concat_f32", "Concat", [("a", rnd((2, 3))), ("b", rnd((2, 1)))], {"axis": 1})
    case(out, "slice_steps_f32", "Slice", [("x", rnd((5, 6)))],
         consts=[("s", np.array([4, 1], np.int64)), ("e", np.array([0, 6], np.int64)),
                 ("a", np.array([0, 1], np.int64)), ("st", np.array([-2, 2], np.int64))])
    case(out, "slice_attrs_opset9_f32", "Slice", [("x", rnd((5, 6)))], {"starts": [1, -4], "ends": [4, 100], "axes": [0, 1]},
         opset=9)
    case(out, "split_f32", "Split", [("x", rnd((2, 7)))], {"axis": 1}, consts=[("sp", np.array([3, 4], np.int64))], n_out=2)
    case(out, "expand_f32", "Expand", [("x", rnd((3, 1)))], consts=[("s", np.array([2, 3, 4], np.int64))])
    # Rows copied whole (x's innermost dim kept), and an int64 mask [B, S, 1] repeated along H.
    case(out, "expand_rows_f32", "Expand", [("x", rnd((1, 2, 4)))], consts=[("s", np.array([3, 1, 1, 4], np.int64))])
    case(out, "expand_mask_i64", "Expand", [("x", rng.integers(0, 2, (2, 3, 1)).astype(np.int64))],
         consts=[("s", np.array([2, 3, 5], np.int64))])
    case(out, "expand_scalar_u8", "Expand", [("x", np.array(7, np.uint8))], consts=[("s", np.array([2, 3], np.int64))])
    case(out, "tile_i64", "Tile", [("x", ints)], consts=[("r", np.array([2, 1], np.int64))])
    case(out, "where_f32", "Where", [("c", rng.integers(0, 2, (2, 3)).astype(np.bool_)), ("x", rnd((2, 3))), ("y", rnd((3,)))],
         out_type=TensorProto.FLOAT)
    case(out, "equal_i64", "Equal", [("a", ints), ("b", np.array([1, 5, 4], np.int64))], out_type=TensorProto.BOOL)
    case(out, "less_f32", "Less", [("a", rnd((2, 3))), ("b", rnd((2, 3)))], out_type=TensorProto.BOOL)
    case(out, "reducesum_i64", "ReduceSum", [("x", ints)], {"keepdims": 0}, consts=[("ax", np.array([1], np.int64))])
    case(out, "reducemean_f32", "ReduceMean", [("x", rnd((2, 3, 4)))], {"axes": [0, 2], "keepdims": 1})
    case(out, "range_i64", "Range", [("s", np.array(2, np.int64)), ("l", np.array(11, np.int64)), ("d", np.array(3, np.int64))])
    case(out, "constantofshape_i64", "ConstantOfShape", [("s", np.array([2, 3], np.int64))],
         {"value": numpy_helper.from_array(np.array([7], np.int64))}, out_type=TensorProto.INT64)
    case(out, "cast_f32_to_i64", "Cast", [("x", rnd((2, 3), np.float32, -5, 5))], {"to": TensorProto.INT64},
         out_type=TensorProto.INT64)
    case(out, "shape_slice", "Shape", [("x", rnd((2, 3, 4, 5)))], {"start": 1, "end": -1}, out_type=TensorProto.INT64)
    case(out, "reshape_infer_f32", "Reshape", [("x", rnd((2, 3, 4)))], consts=[("s", np.array([0, -1], np.int64))])
    case(out, "unsqueeze_squeeze", "Unsqueeze", [("x", rnd((2, 3)))], consts=[("a", np.array([0, 3], np.int64))])
    w = rng.integers(0, 256, (6, 2, 16), dtype=np.uint8)
    case(out, "matmulnbits_acc0_f32", "MatMulNBits", [("a", rnd((3, 64)))],
         {"K": 64, "N": 6, "bits": 4, "block_size": 32, "accuracy_level": 0},
         consts=[("w", w), ("sc", rnd((12,), np.float32, 0.01, 0.1))], domain="com.microsoft")
    case(out, "clip_min_only_f32", "Clip", [("x", x), ("lo", np.array(-0.5, np.float32))])
    case(out, "clip_both_f32", "Clip", [("x", x)], consts=[("lo", np.array(-0.5, np.float32)), ("hi", np.array(0.75, np.float32))])
    case(out, "clip_opset6_f32", "Clip", [("x", x)], {"min": -1.0, "max": 0.25}, opset=6)
    case(out, "clip_i64", "Clip", [("x", ints)], consts=[("lo", np.array(2, np.int64)), ("hi", np.array(4, np.int64))])
    case(out, "reducel2_f32", "ReduceL2", [("x", rnd((2, 3, 4)))], {"axes": [1], "keepdims": 1})
    case(out, "reducel2_opset18_f32", "ReduceL2", [("x", rnd((3, 5)))], {"keepdims": 0},
         consts=[("ax", np.array([-1], np.int64))], opset=18)
    case(out, "transpose_0213_f32", "Transpose", [("x", rnd((2, 3, 4, 5)))], {"perm": [0, 2, 1, 3]})
    case(out, "transpose_1023_f32", "Transpose", [("x", rnd((2, 3, 4, 5)))], {"perm": [1, 0, 2, 3]})
    case(out, "transpose_0231_f32", "Transpose", [("x", rnd((2, 3, 4, 5)))], {"perm": [0, 2, 3, 1]})
    case(out, "transpose_10_i64", "Transpose", [("x", np.arange(12, dtype=np.int64).reshape(3, 4))], {"perm": [1, 0]})
    case(out, "sub_scalar_first_f32", "Sub", [("a", rnd((1,))), ("b", rnd((2, 3, 8)))])
    gather_block_quantized_case(out)
    int8_cases(out)
    encoder_fusion_cases(out)
    attention_cases(out + "_attention")
    print(f"wrote op cases to {out} and {out}_attention")


def gather_block_quantized_case(out):
    """4-bit GatherBlockQuantized with uint8 zero points over an odd number of blocks per row
    (3): onnxruntime pads each row's zero points to a whole byte ([rows, 2] here)."""
    r = np.random.default_rng(7)  # its own stream: the other cases' data stay as they were
    consts = [("d", r.integers(0, 256, (3, 24), dtype=np.uint8)), ("sc", r.uniform(0.01, 0.1, (3, 3)).astype(np.float32)),
              ("zp", r.integers(0, 256, (3, 2), dtype=np.uint8))]
    idx = np.array([[2, 0], [1, 2]], np.int64)
    node = helper.make_node("GatherBlockQuantized", ["d", "idx", "sc", "zp"], ["y0"], domain="com.microsoft",
                            bits=4, block_size=16, gather_axis=0, quantize_axis=1)
    g = helper.make_graph([node], "gbq", [helper.make_tensor_value_info("idx", TensorProto.INT64, idx.shape)],
                          [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in consts])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    write_case(out, "gatherblockquantized_zp_odd_blocks", m, [("idx", idx)])


def graph_case(out, name, nodes, inputs, outputs, consts):
    """A multi-node graph (f32 values) run by onnxruntime, as case() writes one-node graphs."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, F[a.dtype.type], a.shape) for n, a in inputs],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                          [numpy_helper.from_array(a, n) for n, a in consts])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    write_case(out, name, m, inputs)


def encoder_fusion_cases(out):
    """The GELU and attention spellings of BERT exports that engine/graph/encoder_fusion.cpp
    rewrites into single ops (test_encoder_fusion.cpp checks the rewrite happens)."""
    mk = helper.make_node
    sqrt2 = [("sqrt2", np.array(np.sqrt(2.0), np.float32)), ("one", np.array(1.0, np.float32)),
             ("half", np.array(0.5, np.float32))]
    x = [("x", rnd((2, 5, 16), np.float32, -4.0, 4.0))]
    # A QDQ pair on an activation (quant_fusion.cpp makes one QuantizeDequantizeLinear of it),
    # values on code ties (x / 0.05 = k + 0.5) and past both ends of the uint8 range.
    xq = rnd((3, 40), np.float32, -8.0, 8.0)
    xq[0, :8] = np.array([0.025, 0.075, -0.025, -0.125, 6.4, -6.4, 100.0, -100.0], np.float32)
    graph_case(out, "fusion_qdq_pair_f32", [
        mk("QuantizeLinear", ["x", "s", "z"], ["q"]), mk("DequantizeLinear", ["q", "s", "z"], ["y0"])],
        [("x", xq)], ["y0"], [("s", np.array(0.05, np.float32)), ("z", np.array(131, np.uint8))])
    graph_case(out, "fusion_gelu_erf_f32", [
        mk("Div", ["x", "sqrt2"], ["d"]), mk("Erf", ["d"], ["e"]), mk("Add", ["e", "one"], ["a"]),
        mk("Mul", ["x", "a"], ["m"]), mk("Mul", ["m", "half"], ["y0"])], x, ["y0"], sqrt2)
    graph_case(out, "fusion_gelu_half_first_f32", [
        mk("Mul", ["x", "half"], ["h"]), mk("Div", ["x", "sqrt2"], ["d"]), mk("Erf", ["d"], ["e"]),
        mk("Add", ["one", "e"], ["a"]), mk("Mul", ["h", "a"], ["y0"])], x, ["y0"], sqrt2)
    B, S, H, D = 2, 5, 4, 8
    mask = np.zeros((B, 1, 1, S), np.float32)
    mask[1, 0, 0, 3:] = -10000.0  # row 1: two padded positions
    qkv = [("q", rnd((B, S, H, D))), ("k", rnd((B, S, H, D))), ("v", rnd((B, S, H, D))), ("mask", mask)]

    def attention(extra_outputs):
        nodes = [mk("Transpose", ["q"], ["qt"], perm=[0, 2, 1, 3]), mk("Transpose", ["k"], ["kt"], perm=[0, 2, 3, 1]),
                 mk("Transpose", ["v"], ["vt"], perm=[0, 2, 1, 3]), mk("MatMul", ["qt", "kt"], ["s"]),
                 mk("Div", ["s", "c"], ["sd"]), mk("Add", ["sd", "mask"], ["sm"]), mk("Softmax", ["sm"], ["p"], axis=-1),
                 mk("MatMul", ["p", "vt"], ["ctx"]), mk("Transpose", ["ctx"], ["y0"], perm=[0, 2, 1, 3])]
        return nodes, ["y0"] + extra_outputs
    consts = [("c", np.array(np.sqrt(D), np.float32))]
    nodes, outs = attention([])
    graph_case(out, "fusion_attention_f32", nodes, qkv, outs, consts)
    # The probabilities are also a graph output: the chain must stay as it is.
    nodes, outs = attention(["p"])
    graph_case(out, "fusion_attention_probs_read_f32", nodes, qkv, outs, consts)


def attention_case(out, name, attrs, steps, dt=np.float32, packed=False, rot_width=0, max_pos=32):
    """One GroupQueryAttention node run over several steps (prefill of steps[0] tokens, then
    steps[1:] more), past/present fed back as onnxruntime-genai does. Writes OUT/<name>/model.onnx
    and step<j>/input_<i>.pb (graph inputs other than the past, in graph order) + output_0.pb.
    test_attention_op_parity.cpp runs the node on the paged KV cache over the same steps."""
    nh, kvh, hd = attrs["num_heads"], attrs["kv_num_heads"], attrs.get("head_size", 16)
    attrs = {k: v for k, v in attrs.items() if k != "head_size"}
    q_in = ["q"] if packed else ["q", "k", "v"]
    consts = []
    if rot_width:
        pos = np.arange(max_pos)[:, None] / (10000.0 ** (np.arange(rot_width) / rot_width))[None, :]
        consts = [("cos", np.cos(pos).astype(dt)), ("sin", np.sin(pos).astype(dt))]
        attrs = {**attrs, "do_rotary": 1}
    node_in = (q_in + ["", ""])[:3] + ["past_key_values.0.key", "past_key_values.0.value", "seqlens_k", "total_sequence_length"]
    node_in += [n for n, _ in consts]
    node = helper.make_node("GroupQueryAttention", node_in, ["y", "present.0.key", "present.0.value"], domain="com.microsoft", **attrs)
    width = (nh + 2 * kvh) * hd if packed else None
    ins = [helper.make_tensor_value_info("q", F[dt], [1, "S", width or nh * hd])]
    if not packed:
        ins += [helper.make_tensor_value_info(n, F[dt], [1, "S", kvh * hd]) for n in ("k", "v")]
    ins += [helper.make_tensor_value_info(f"past_key_values.0.{n}", F[dt], [1, kvh, "P", hd]) for n in ("key", "value")]
    ins += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]), helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    outs = [helper.make_tensor_value_info(n, F[dt], None) for n in ("y", "present.0.key", "present.0.value")]
    g = helper.make_graph([node], name, ins, outs, [numpy_helper.from_array(a, n) for n, a in consts])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    past = [np.zeros((1, kvh, 0, hd), dt)] * 2
    total = 0
    for j, s in enumerate(steps):
        total += s
        feed = {"q": rnd((1, s, width or nh * hd), dt)}
        if not packed:
            feed.update(k=rnd((1, s, kvh * hd), dt), v=rnd((1, s, kvh * hd), dt))
        feed.update({"past_key_values.0.key": past[0], "past_key_values.0.value": past[1],
                     "seqlens_k": np.array([total - 1], np.int32), "total_sequence_length": np.array(total, np.int32)})
        y, pk, pv = sess.run(None, feed)
        past = [pk, pv]
        sd = os.path.join(d, f"step{j}")
        os.makedirs(sd, exist_ok=True)
        run_inputs = [i.name for i in ins if not i.name.startswith("past_")]
        for i, n in enumerate(run_inputs):
            with open(os.path.join(sd, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(feed[n], n).SerializeToString())
        with open(os.path.join(sd, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y, "y").SerializeToString())


def attention_cases(out):
    gqa = {"num_heads": 4, "kv_num_heads": 2}
    # local_window_size: the last W keys; prefill longer than the window, then decode past it
    attention_case(out, "gqa_window3_f32", {**gqa, "local_window_size": 3}, [6, 1, 1, 1])
    attention_case(out, "gqa_window3_rotary_f16", {**gqa, "local_window_size": 3}, [5, 1, 1], np.float16, rot_width=8)
    # softcap (applied to the scaled scores) and an explicit scale, packed QKV
    attention_case(out, "gqa_softcap_scale_packed_f32", {**gqa, "softcap": 1.5, "scale": 0.4}, [4, 1, 1], packed=True)
    # rotary from the node's own cos/sin caches (Gemma-3: one pair per layer kind), head 256
    attention_case(out, "gqa_rotary_head256_f32", {"num_heads": 4, "kv_num_heads": 1, "head_size": 256, "scale": 0.0625,
                                                   "local_window_size": 4}, [6, 1, 1], rot_width=128)
    attention_case(out, "gqa_rotary_f16", gqa, [3, 1, 1], np.float16, rot_width=8)
    # prefills longer than one 32-query tile of the blocked path, and a second prefill over a past
    attention_case(out, "gqa_prefill_long_head64_f32", {"num_heads": 6, "kv_num_heads": 2, "head_size": 64}, [40, 17, 1])
    attention_case(out, "gqa_prefill_window7_head24_f32", {**gqa, "local_window_size": 7, "head_size": 24}, [37, 20, 1])
    attention_case(out, "gqa_prefill_softcap_packed_f32", {**gqa, "softcap": 2.0}, [33, 30, 1], packed=True)
    attention_case(out, "gqa_prefill_rotary_f16", gqa, [35, 9, 1], np.float16, rot_width=8, max_pos=64)
    # inputs the engine refuses by name (fused q/k norm weights of CUDA exports, quantized-KV scales)
    for name, idx in (("q_norm_weight", 14), ("k_scale", 12)):
        ins = ["q", "k", "v", "past_key_values.0.key", "past_key_values.0.value", "seqlens_k", "total_sequence_length"]
        ins += [""] * (idx - len(ins)) + ["w"]
        node = helper.make_node("GroupQueryAttention", ins, ["y"], name=f"gqa_with_{name}", domain="com.microsoft", num_heads=2, kv_num_heads=1)
        vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, "S", 16]) for n in ("q", "k", "v")]
        vi += [helper.make_tensor_value_info(f"past_key_values.0.{n}", TensorProto.FLOAT, [1, 1, "P", 16]) for n in ("key", "value")]
        vi += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]), helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
        g = helper.make_graph([node], name, vi, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones(16, np.float32), "w")])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
        m.ir_version = 10
        d = os.path.join(out + "_refused", name)
        os.makedirs(d, exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))


if __name__ == "__main__":
    main()
