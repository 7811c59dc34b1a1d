"""An encoder-shaped graph (input_ids, attention_mask -> last_hidden_state) whose
attention uses Einsum, an op run-llm does not implement, for the bad-input test.

  make_bad_graph.py OUT.onnx      (exit 77 when onnx is missing)
"""
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

emb = numpy_helper.from_array(np.ones((10, 4), np.float32), "embeddings.word_embeddings.weight")
nodes = [
    helper.make_node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], ["x"], name="/embeddings/Gather"),
    helper.make_node("Einsum", ["x", "x"], ["last_hidden_state"], name="/encoder/layer.0/attention/Einsum",
                     equation="bsh,bsh->bsh"),
]
inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["B", "S"]) for n in ("input_ids", "attention_mask")]
out = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["B", "S", 4])]
model = helper.make_model(helper.make_graph(nodes, "bad", inputs, out, [emb]), opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
