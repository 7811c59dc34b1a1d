// pack_int8: B [K, N] uint8/int8 into 16-column panels (layouts in int8_kernel.h).
#include <cstdlib>
#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels {
namespace {

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

PackedInt8::Layout preferred_int8_layout(bool b_signed) {
  return !b_signed && active_isa() == Isa::avx2 ? PackedInt8::Layout::pair_s16 : PackedInt8::Layout::quad_s8;
}

PackedInt8 pack_int8(const Int8Weights& w, PackedInt8::Layout layout) {
  PackedInt8 p;
  p.k_ = w.K;
  p.n_ = w.N;
  p.kp_ = round_up(w.K, 4);
  p.signed_ = w.b_signed;
  p.layout_ = layout;
  const bool pair = layout == PackedInt8::Layout::pair_s16;
  const int64_t n_panels = (w.N + PackedInt8::kPanel - 1) / PackedInt8::kPanel;
  const int64_t n_pad = n_panels * PackedInt8::kPanel;
  const int64_t panel_bytes = p.kp_ * PackedInt8::kPanel * (pair ? 2 : 1);
  p.zp_off_ = size_t(round_up(n_panels * panel_bytes, 64));
  p.sum_off_ = p.zp_off_ + size_t(round_up(n_pad * 4, 64));
  p.bytes_ = p.sum_off_ + size_t(round_up(n_pad * 4, 64));
  p.data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, p.bytes_)));
  std::memset(p.data_.get(), 0, p.bytes_);

  auto b_at = [&](int64_t k, int64_t n) -> int32_t {
    return w.b_signed ? static_cast<const int8_t*>(w.b)[k * w.N + n] : static_cast<const uint8_t*>(w.b)[k * w.N + n];
  };
  auto zp_at = [&](int64_t n) -> int32_t {
    if (w.zero_points == nullptr) return 0;
    int64_t i = w.zp_per_column ? n : 0;
    return w.b_signed ? static_cast<const int8_t*>(w.zero_points)[i] : static_cast<const uint8_t*>(w.zero_points)[i];
  };
  int32_t* zp = reinterpret_cast<int32_t*>(p.data_.get() + p.zp_off_);
  int32_t* sums = reinterpret_cast<int32_t*>(p.data_.get() + p.sum_off_);
  for (int64_t n = 0; n < w.N; ++n) {
    const int64_t panel = n / PackedInt8::kPanel, c = n % PackedInt8::kPanel;
    const int32_t z = zp_at(n);
    int32_t sum = 0;
    for (int64_t k = 0; k < w.K; ++k) {
      int32_t v;
      if (pair) {
        v = b_at(k, n) - z;
        auto* dst = reinterpret_cast<int16_t*>(p.data_.get() + panel * panel_bytes);
        dst[(k / 2) * 32 + c * 2 + k % 2] = static_cast<int16_t>(v);
      } else {
        v = w.b_signed ? b_at(k, n) : b_at(k, n) - 128;
        auto* dst = reinterpret_cast<int8_t*>(p.data_.get() + panel * panel_bytes);
        dst[(k / 4) * 64 + c * 4 + k % 4] = static_cast<int8_t>(v);
      }
      sum += v;
    }
    sums[n] = sum;
    zp[n] = pair ? 0 : (w.b_signed ? z : z - 128);
  }
  return p;
}

}  // namespace rllm::kernels
