// Iteration over the numpy broadcast of N inputs into an output shape.
#pragma once

#include <array>
#include <cstdint>

#include "engine/tensor.h"

namespace rllm::ops {

// Calls f(out_offset, in_offsets, n, in_strides) for every row of the output's
// last dim: n elements starting at flat output index out_offset, input k's
// elements at in_offsets[k] + j * in_strides[k] (stride 0 when k broadcasts
// along that dim, else 1).
template <size_t N, typename F>
void broadcast_rows(const Shape& out, const std::array<Shape, N>& ins, F f) {
  const size_t r = out.size();
  std::array<Shape, N> st;
  for (size_t k = 0; k < N; ++k) {
    st[k].assign(r, 0);
    const Shape& s = ins[k];
    int64_t stride = 1;
    for (size_t i = 0; i < s.size(); ++i) {
      size_t d = s.size() - 1 - i;
      size_t od = r - 1 - i;
      st[k][od] = s[d] == 1 ? 0 : stride;
      stride *= s[d];
    }
  }
  int64_t total = shape_numel(out);
  if (total == 0) return;
  int64_t inner = r ? out[r - 1] : 1;
  std::array<int64_t, N> inner_st{};
  for (size_t k = 0; k < N; ++k) inner_st[k] = r ? st[k][r - 1] : 0;
  Shape idx(r, 0);
  std::array<int64_t, N> base{};
  for (int64_t o = 0; o < total; o += inner) {
    f(o, base, inner, inner_st);
    // Advance the outer counters (all but the last dim).
    for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        for (size_t k = 0; k < N; ++k) base[k] += st[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) base[k] -= st[k][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// Calls f(out_i, in_i[0..N)) for every output element, row by row: `f` is
// called with flat indices; inputs with a broadcast dim repeat their elements.
template <size_t N, typename F>
void broadcast_each(const Shape& out, const std::array<Shape, N>& ins, F f) {
  broadcast_rows<N>(out, ins, [&](int64_t o, const std::array<int64_t, N>& base, int64_t n,
                                  const std::array<int64_t, N>& step) {
    std::array<int64_t, N> pos = base;
    for (int64_t j = 0; j < n; ++j) {
      f(o + j, pos);
      for (size_t k = 0; k < N; ++k) pos[k] += step[k];
    }
  });
}

}  // namespace rllm::ops
