"""run-llm inspect MODEL must report what the onnx package reads from the same file:
opsets, inputs, op histogram, initializer count/bytes by dtype, external files."""
import collections
import os
import re
import subprocess
import sys

try:
    import onnx
    from onnx import helper
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

run_llm, model_dir = sys.argv[1], sys.argv[2]
out = subprocess.run([run_llm, "inspect", model_dir], capture_output=True, text=True, check=True).stdout
m = onnx.load(os.path.join(model_dir, "model.onnx"), load_external_data=False)
failures = []


def expect(pattern, what):
    if not re.search(pattern, out, re.M):
        failures.append(f"{what}: /{pattern}/ not found")


for o in m.opset_import:
    expect(rf"opsets:.* {re.escape(o.domain or 'ai.onnx')}={o.version}\b", f"opset {o.domain}")
for i in m.graph.input:
    expect(rf"^  {re.escape(i.name)}\s", f"input {i.name}")
ops = collections.Counter(f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in m.graph.node)
expect(rf"^nodes \({len(m.graph.node)}\) by op:", "node count")
for op, count in ops.items():
    expect(rf"^  {re.escape(op)}\s+{count}$", f"op {op}")
sizes = collections.defaultdict(lambda: [0, 0])
names = {1: "f32", 10: "f16", 7: "i64", 6: "i32", 2: "u8", 3: "i8", 9: "bool"}
for t in m.graph.initializer:
    n = 1
    for d in t.dims:
        n *= d
    sizes[names[t.data_type]][0] += 1
    sizes[names[t.data_type]][1] += n * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
for dt, (count, nbytes) in sizes.items():
    expect(rf"^  {dt}\s+{count}\s+{nbytes} bytes$", f"initializers {dt}")
data = os.path.join(model_dir, "model.onnx.data")
expect(rf"^  model\.onnx\.data\s+{os.path.getsize(data)} bytes$", "external file")
expect(r"^kernels: (scalar|avx2|avx512vnni|avx512amx|neon)$", "kernel ISA")
if failures:
    print(out)
    print("\n".join(failures))
    sys.exit(1)
print(f"inspect matches onnx: {len(ops)} op types, {len(m.graph.initializer)} initializers")
