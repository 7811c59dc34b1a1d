"""Writes a one-node decoder-shaped graph whose op (Det) run-llm does not implement:
input_ids int64 [1, S] -> Cast(float) -> Det -> logits. Usage: make_unsupported_op.py OUT.onnx"""
import sys

import onnx
from onnx import TensorProto, helper

if len(sys.argv) != 2:
    sys.exit("usage: make_unsupported_op.py OUT.onnx")
graph = helper.make_graph(
    [
        helper.make_node("Cast", ["input_ids"], ["x"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Det", ["x"], ["logits"], name="the_det"),
    ],
    "unsupported",
    [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "S"])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
