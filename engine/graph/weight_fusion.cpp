#include "engine/graph/weight_fusion.h"

#include <optional>

#include "engine/graph/pattern.h"

namespace rllm {

std::shared_ptr<const OnnxModel> fuse_widened_weights(const OnnxModel& model) {
  GraphMatcher m(model.graph);
  return apply_rewrites(
      model,
      [&](const OnnxNode& n, int i) -> std::optional<Rewrite> {
        if (n.op_type != "MatMul" || n.inputs.size() != 2 || n.outputs.size() != 1) return std::nullopt;
        int cast = m.producer(n.inputs[1], "Cast");
        if (cast < 0 || !m.single_reader(n.inputs[1])) return std::nullopt;
        const OnnxNode& c = m.node(cast);
        if (c.inputs.size() != 1 || c.attr_i("to", 0) != int64_t(DType::f32)) return std::nullopt;
        const OnnxTensor* w = m.init(c.inputs[0]);
        if (w == nullptr || (w->dtype != DType::bf16 && w->dtype != DType::f16) || w->dims.size() != 2)
          return std::nullopt;
        OnnxNode fused = n;
        fused.inputs[1] = c.inputs[0];
        return Rewrite{i, std::move(fused), {cast}};
      },
      {});
}

}  // namespace rllm
