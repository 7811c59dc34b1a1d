// gemm_u8x8 driver: prepares A once per call (padded rows and row sums, or
// int16 a - a_zp), splits the 16-column panels of B across the pool, and adds
// the zero-point terms and the float epilogue per tile.
//
// The epilogue multiplies and adds in separate f32 steps: this file is built
// without FMA, so nothing is contracted and the result equals the Cast, Mul
// and Add nodes it replaces.
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {
namespace {

using Layout = PackedInt8::Layout;

constexpr Int8Kernel kKernels[] = {
    {"tile_quad_s8_ref", Isa::scalar, Layout::quad_s8, false, 4, tile_quad_s8_ref, epilogue_ref, nullptr},
    {"tile_pair_s16_ref", Isa::scalar, Layout::pair_s16, false, 4, tile_pair_s16_ref, epilogue_ref, nullptr},
#if defined(__x86_64__)
    {"tile_u8s8_i32_4x16_avx2", Isa::avx2, Layout::quad_s8, true, 4, tile_u8s8_i32_4x16_avx2, epilogue_avx2, nullptr},
    {"tile_s16s16_i32_4x16_avx2", Isa::avx2, Layout::pair_s16, false, 4, tile_s16s16_i32_4x16_avx2, epilogue_avx2, nullptr},
    {"tile_u8s8_i32_8x16_avx512vnni", Isa::avx512vnni, Layout::quad_s8, false, 8, tile_u8s8_i32_8x16_avx512vnni,
     epilogue_avx2, tile_u8s8_i32_8x32_avx512vnni},
    // No int16 kernel of its own: VNNI machines pack uint8 weights as quad_s8.
    {"tile_s16s16_i32_4x16_avx2", Isa::avx512vnni, Layout::pair_s16, false, 4, tile_s16s16_i32_4x16_avx2,
     epilogue_avx2, nullptr},
    {"tile_u8s8_i32_16x16_avx512amx", Isa::avx512amx, Layout::quad_s8, false, 16, tile_u8s8_i32_16x16_avx512amx,
     epilogue_avx2, tile_u8s8_i32_16x32_avx512amx},
    {"tile_s16s16_i32_4x16_avx2", Isa::avx512amx, Layout::pair_s16, false, 4, tile_s16s16_i32_4x16_avx2,
     epilogue_avx2, nullptr},
#elif defined(__aarch64__)
    // uint8 weights are packed as quad_s8 here too (pack_int8.cpp).
    {"tile_u8s8_i32_4x16_neon_dot", Isa::neon, Layout::quad_s8, false, 4, tile_u8s8_i32_4x16_neon_dot, epilogue_ref,
     nullptr},
#endif
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Grows once to the largest call seen on this thread, then is reused.
struct Workspace {
  std::unique_ptr<uint8_t[], AlignedFree> buf;
  size_t size = 0;
  uint8_t* get(size_t bytes) {
    if (bytes > size) {
      buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, size_t(round_up(int64_t(bytes), 64)))));
      size = bytes;
    }
    return buf.get();
  }
};

}  // namespace

std::span<const Int8Kernel> int8_kernel_list() { return kKernels; }

const Int8Kernel& choose_int8_kernel(const PackedInt8& w, Isa isa) {
  const Int8Kernel* chosen = nullptr;
  // Scalar twins come first; an entry for the ISA overrides. Saturating
  // kernels read the stored b - 128 of uint8 weights wrongly: skip them there.
  for (const Int8Kernel& k : kKernels) {
    if (k.layout != w.layout() || (k.saturates && !w.b_signed())) continue;
    if (k.isa == isa || (chosen == nullptr && k.isa == Isa::scalar)) chosen = &k;
  }
  assert(chosen != nullptr);
  return *chosen;
}

void gemm_u8x8_with(const Int8Kernel& k, const PackedInt8& w, const uint8_t* A, int64_t lda,
                    uint8_t a_zp, int64_t M, const Int8Output& out, ThreadPool& pool) {
  assert(M >= 0 && k.layout == w.layout() && k.mr <= kMaxMr);
  if (M == 0 || w.N() == 0) return;
  const bool pair = w.layout() == Layout::pair_s16;
  const int64_t K = w.K(), kp = w.k_padded(), N = w.N();
  const int32_t* zp = w.zero_points();
  // quad_s8 tiles can read A where it is when its rows need no zero padding
  // (K a multiple of 4); the row sums only matter to a nonzero zero point
  // (symmetric int8 weights have none): then A is not copied at all.
  const bool in_place = !pair && kp == K && std::all_of(zp, zp + N, [](int32_t z) { return z == 0; });
  const int64_t row_bytes = in_place ? lda : round_up(kp * (pair ? 2 : 1), 64);
  thread_local Workspace ws;
  uint8_t* rows = ws.get(size_t((in_place ? 0 : M * row_bytes) + M * 4));
  int32_t* row_sums = reinterpret_cast<int32_t*>(rows + (in_place ? 0 : M * row_bytes));
  const uint8_t* a_rows = in_place ? A : rows;
  if (in_place) std::memset(row_sums, 0, size_t(M) * 4);
  else pool.parallel_for(M, 16, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const uint8_t* a = A + m * lda;
      uint8_t* dst = rows + m * row_bytes;
      int32_t s = 0;
      if (pair) {
        auto* d16 = reinterpret_cast<int16_t*>(dst);
        for (int64_t i = 0; i < K; ++i) d16[i] = static_cast<int16_t>(int32_t(a[i]) - a_zp);
        std::memset(d16 + K, 0, size_t(kp - K) * 2);
      } else {
        std::memcpy(dst, a, size_t(K));
        std::memset(dst + K, 0, size_t(kp - K));
        for (int64_t i = 0; i < K; ++i) s += a[i];
      }
      row_sums[m] = s;
    }
  });

  const int64_t n_panels = (N + PackedInt8::kPanel - 1) / PackedInt8::kPanel;
  const int64_t panel_bytes = kp * PackedInt8::kPanel * (pair ? 2 : 1);
  const int32_t* col_sums = w.column_sums();
  // Each thread takes a range of panels; rows go in chunks of kRowChunk so a
  // chunk of A stays in L1/L2 while the thread's panels pass over it.
  constexpr int64_t kRowChunk = 64;
  pool.parallel_for(n_panels, 1, [&](int64_t p0, int64_t p1) {
    alignas(64) int32_t raw[2 * kMaxMr * PackedInt8::kPanel];
    alignas(64) int32_t col_term[2][PackedInt8::kPanel], zp16[2][PackedInt8::kPanel];
    alignas(64) float scale16[2][PackedInt8::kPanel], bias16[2][PackedInt8::kPanel];
    // Zero-point terms and epilogue parameters of panel p into slot s; its column count.
    auto setup = [&](int64_t p, int s) {
      const int64_t n0 = p * PackedInt8::kPanel;
      const int nc = int(std::min<int64_t>(PackedInt8::kPanel, N - n0));
      for (int c = 0; c < PackedInt8::kPanel; ++c) {
        const bool in = c < nc;
        const int64_t z = pair || !in ? 0 : zp[n0 + c];
        // Modulo 2^32, as the int32 sums themselves.
        col_term[s][c] = pair || !in ? 0 : int32_t(uint32_t(K * a_zp * z - int64_t(a_zp) * col_sums[n0 + c]));
        zp16[s][c] = int32_t(z);
        scale16[s][c] = out.y != nullptr && in ? out.scale[n0 + c] : 0.0f;
        bias16[s][c] = out.bias != nullptr && in ? out.bias[n0 + c] : 0.0f;
      }
      return nc;
    };
    auto finish = [&](int64_t p, int s, int nc, int64_t m0, int mr) {
      const int64_t n0 = p * PackedInt8::kPanel;
      const TileEpilogue e{col_term[s], zp16[s], row_sums + m0, out.y != nullptr ? scale16[s] : nullptr,
                           out.bias != nullptr ? bias16[s] : nullptr};
      int32_t* c_out = out.y != nullptr ? nullptr : out.c + m0 * out.ld + n0;
      float* y = out.y != nullptr ? out.y + m0 * out.ld + n0 : nullptr;
      k.epilogue(raw + s * kMaxMr * PackedInt8::kPanel, mr, nc, e, c_out, y, out.ld);
    };
    for (int64_t mc = 0; mc < M; mc += kRowChunk) {
      for (int64_t p = p0; p < p1;) {
        const void* panel = static_cast<const uint8_t*>(w.panels()) + p * panel_bytes;
        // Two panels per pass over A where the kernel has such a tile.
        const int np = k.fn2 != nullptr && p + 1 < p1 ? 2 : 1;
        const int nc0 = setup(p, 0), nc1 = np == 2 ? setup(p + 1, 1) : 0;
        for (int64_t m0 = mc; m0 < std::min(M, mc + kRowChunk); m0 += k.mr) {
          const int mr = int(std::min<int64_t>(k.mr, M - m0));
          (np == 2 ? k.fn2 : k.fn)(a_rows + m0 * row_bytes, row_bytes, mr, panel, kp, raw);
          finish(p, 0, nc0, m0, mr);
          if (np == 2) finish(p + 1, 1, nc1, m0, mr);
        }
        p += np;
      }
    }
  });
}

void epilogue_ref(const int32_t* raw, int mr, int nc, const TileEpilogue& e, int32_t* c_out, float* y, int64_t ld) {
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nc; ++c) {
      const int32_t v = int32_t(uint32_t(raw[r * 16 + c]) + uint32_t(e.col_term[c]) -
                                uint32_t(e.zp[c]) * uint32_t(e.row_sums[r]));
      if (e.scale == nullptr) {
        c_out[r * ld + c] = v;
        continue;
      }
      float f = static_cast<float>(v) * e.scale[c];
      if (e.bias != nullptr) f = f + e.bias[c];
      y[r * ld + c] = f;
    }
}

void tile_quad_s8_ref(const uint8_t* a, int64_t a_stride, int mr, const void* panel, int64_t kp, int32_t* raw) {
  const auto* b = static_cast<const int8_t*>(panel);
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < 16; ++c) {
      int32_t s = 0;
      for (int64_t k = 0; k < kp; ++k) s += int32_t(a[r * a_stride + k]) * b[(k / 4) * 64 + c * 4 + k % 4];
      raw[r * 16 + c] = s;
    }
}

void tile_pair_s16_ref(const uint8_t* a, int64_t a_stride, int mr, const void* panel, int64_t kp, int32_t* raw) {
  const auto* b = static_cast<const int16_t*>(panel);
  for (int r = 0; r < mr; ++r) {
    const auto* ar = reinterpret_cast<const int16_t*>(a + r * a_stride);
    for (int c = 0; c < 16; ++c) {
      int32_t s = 0;
      for (int64_t k = 0; k < kp; ++k) s += int32_t(ar[k]) * b[(k / 2) * 32 + c * 2 + k % 2];
      raw[r * 16 + c] = s;
    }
  }
}

}  // namespace rllm::kernels::int8

namespace rllm::kernels {

void gemm_u8x8(const PackedInt8& w, const uint8_t* A, int64_t lda, uint8_t a_zp, int64_t M,
               const Int8Output& out, ThreadPool& pool) {
  int8::gemm_u8x8_with(int8::choose_int8_kernel(w, active_isa()), w, A, lda, a_zp, M, out, pool);
}

bool int8_saturates(const PackedInt8& w, Isa isa) { return int8::choose_int8_kernel(w, isa).saturates; }

namespace ref {

void gemm_u8x8_i32(const uint8_t* A, int64_t lda, uint8_t a_zp, const Int8Weights& w, int64_t M,
                   int32_t* C, int64_t ldc, bool saturate_pairs) {
  auto b_at = [&](int64_t k, int64_t n) -> int64_t {
    return w.b_signed ? static_cast<const int8_t*>(w.b)[k * w.N + n] : static_cast<const uint8_t*>(w.b)[k * w.N + n];
  };
  auto zp_at = [&](int64_t n) -> int64_t {
    if (w.zero_points == nullptr) return 0;
    int64_t i = w.zp_per_column ? n : 0;
    return w.b_signed ? static_cast<const int8_t*>(w.zero_points)[i] : static_cast<const uint8_t*>(w.zero_points)[i];
  };
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < w.N; ++n) {
      const uint8_t* a = A + m * lda;
      const int64_t za = a_zp, zb = zp_at(n);
      int64_t s = 0;
      if (!saturate_pairs) {
        for (int64_t k = 0; k < w.K; ++k) s += (a[k] - za) * (b_at(k, n) - zb);
      } else {
        int64_t sum_a = 0, sum_b = 0;
        for (int64_t k = 0; k < w.K; k += 2) {
          int64_t pair = a[k] * b_at(k, n) + (k + 1 < w.K ? a[k + 1] * b_at(k + 1, n) : 0);
          s += std::clamp<int64_t>(pair, -32768, 32767);
        }
        for (int64_t k = 0; k < w.K; ++k) {
          sum_a += a[k];
          sum_b += b_at(k, n);
        }
        s += -za * sum_b - zb * sum_a + w.K * za * zb;
      }
      C[m * ldc + n] = static_cast<int32_t>(s);
    }
}

}  // namespace ref
}  // namespace rllm::kernels
