// MatMulNBits driver: prepares the activations once per call (int8 per block
// or padded f32, see nbits_kernel.h), then splits N across the pool.
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

constexpr NBitsKernel kKernels[] = {
    {"gemm_q8a_qnb_f32_ref", Isa::scalar, true, gemm_q8a_qnb_f32_ref, 0},
    {"gemm_f32a_qnb_f32_ref", Isa::scalar, false, gemm_f32a_qnb_f32_ref, 0},
#if defined(__x86_64__)
    {"gemm_q8a_qnb_f32_avx2", Isa::avx2, true, gemm_q8a_qnb_f32_avx2, 0},
    {"gemm_f32a_qnb_f32_avx2", Isa::avx2, false, gemm_f32a_qnb_f32_avx2, 0},
    {"gemm_q8a_qnb_f32_avx512vnni", Isa::avx512vnni, true, gemm_q8a_qnb_f32_avx512vnni, kVnniRowGroup},
    // No f32-activation kernel of its own: the AVX2 one serves VNNI machines.
    {"gemm_f32a_qnb_f32_avx2", Isa::avx512vnni, false, gemm_f32a_qnb_f32_avx2, 0},
    {"gemm_q8a_qnb_f32_avx512amx", Isa::avx512amx, true, gemm_q8a_qnb_f32_avx512amx, kVnniRowGroup},
    {"gemm_f32a_qnb_f32_avx2", Isa::avx512amx, false, gemm_f32a_qnb_f32_avx2, 0},
#elif defined(__aarch64__)
    {"gemm_q8a_qnb_f32_neon_dot", Isa::neon, true, gemm_q8a_qnb_f32_neon_dot, 0},
    {"gemm_f32a_qnb_f32_neon", Isa::neon, false, gemm_f32a_qnb_f32_neon, 0},
#endif
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Grows once to the largest call seen on this thread, then is reused: the
// steady-state decode loop does not allocate.
struct Workspace {
  std::unique_ptr<uint8_t[], AlignedFree> buf;
  size_t size = 0;
  uint8_t* get(size_t bytes) {
    if (bytes > size) {
      buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, round_up(int64_t(bytes), 64))));
      size = bytes;
    }
    return buf.get();
  }
};

void prepare_row(const PackedNBits& w, bool int8_act, const float* a, const ActRows& act, int64_t m) {
  const int64_t K = w.K(), kp = w.k_padded(), bs = w.block_size(), nb = w.n_blocks(), nbp = w.n_blocks_padded();
  uint8_t* row = const_cast<uint8_t*>(static_cast<const uint8_t*>(act.data(m)));
  if (int8_act) {
    int8_t* q = reinterpret_cast<int8_t*>(row);
    float* da = const_cast<float*>(act.da(m));
    float* asum = const_cast<float*>(act.asum(m));
    int32_t* zsum = const_cast<int32_t*>(act.zsum(m));
    quantize_row_i8(a, K, bs, q, da);
    std::memset(q + K, 0, size_t(kp - K));
    for (int64_t b = 0; b < nbp; ++b) {
      int32_t s = 0;
      for (int64_t k = b * bs; k < (b + 1) * bs; ++k) s += q[k];
      asum[b] = float(s);
      zsum[b] = -(1 << (w.bits() - 1)) * s;
      if (b >= nb) da[b] = 0.0f;
    }
  } else {
    float* x = reinterpret_cast<float*>(row);
    float* asum = const_cast<float*>(act.asum(m));
    std::memcpy(x, a, size_t(K) * sizeof(float));
    std::memset(x + K, 0, size_t(kp - K) * sizeof(float));
    for (int64_t b = 0; b < nbp; ++b) {
      float s = 0.0f;
      for (int64_t k = b * bs; k < (b + 1) * bs; ++k) s += x[k];
      asum[b] = s;
    }
  }
}

// Row group g of G rows, copied from the prepared rows (layout in nbits_kernel.h).
void gather_group(const ActRows& act, int64_t G, int64_t M, int64_t g) {
  const int64_t m0 = g * G;
  const int r = int(std::min(G, M - m0));
  int8_t* q = const_cast<int8_t*>(act.gq(g));
  float* da = const_cast<float*>(act.gda(g, r));
  float* as = const_cast<float*>(act.gasum(g, r));
  int32_t* zs = const_cast<int32_t*>(act.gzsum(g, r));
  for (int i = 0; i < r; ++i) {
    const int8_t* src = static_cast<const int8_t*>(act.data(m0 + i));
    for (int64_t j = 0; j < act.kp / 32; ++j) std::memcpy(q + (j * r + i) * 32, src + j * 32, 32);
    for (int64_t b = 0; b < act.nbp; ++b) {
      da[b * r + i] = act.da(m0 + i)[b];
      as[b * r + i] = act.asum(m0 + i)[b];
      zs[b * r + i] = act.zsum(m0 + i)[b];
    }
  }
}

}  // namespace

std::span<const NBitsKernel> nbits_kernel_list() { return kKernels; }

void matmul_nbits_with(const NBitsKernel& k, const PackedNBits& w, const float* A, int64_t M,
                       const float* bias, float* Y, ThreadPool& pool) {
  assert(M >= 0 && w.N() > 0);
  if (M == 0) return;
  ActRows act;
  int64_t data_bytes = w.k_padded() * (k.int8_activations ? 1 : 4);
  // A row's arrays back to back (kp is a multiple of 32): a q8a row is laid
  // out as a row group of one row, so a single row (decode) needs no copy.
  act.da_off = data_bytes;
  act.asum_off = act.da_off + w.n_blocks_padded() * 4;
  act.zsum_off = act.asum_off + w.n_blocks_padded() * 4;
  act.stride = round_up(act.zsum_off + (k.int8_activations ? w.n_blocks_padded() * 4 : 0), 64);
  const int64_t G = k.int8_activations ? k.row_group : 0, n_groups = G > 0 && M > 1 ? (M + G - 1) / G : 0;
  act.kp = w.k_padded();
  act.nbp = w.n_blocks_padded();
  act.group_stride = round_up(G * (act.kp + 3 * act.nbp * 4), 64);
  thread_local Workspace ws;
  uint8_t* base = ws.get(size_t(act.stride * M + act.group_stride * n_groups));
  act.base = base;
  pool.parallel_for(M, 1, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) prepare_row(w, k.int8_activations, A + m * w.K(), act, m);
  });
  if (G > 0 && M == 1) {
    act.groups = base;
    act.group_stride = act.stride;
  } else if (n_groups > 0) {
    act.groups = base + act.stride * M;
    pool.parallel_for(n_groups, 1, [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) gather_group(act, G, M, g);
    });
  }
  // Threads take whole panels of 8 output columns, and at least ~64 KB of
  // weight traffic x rows each (a few microseconds, about what waking a
  // thread costs): SmolLM2's small decode GEMVs stay on one thread.
  constexpr int64_t P = PackedNBits::kPanel, kMinChunk = 64 << 10;
  const int64_t panel_cost = int64_t(w.bytes()) / w.n_panels() * M;
  pool.parallel_for(w.n_panels(), std::max<int64_t>(1, kMinChunk / panel_cost), [&](int64_t p0, int64_t p1) {
    k.fn(w, act, M, p0 * P, std::min(w.N(), p1 * P), bias, Y, w.N());
  });
}

}  // namespace rllm::kernels::nbits

namespace rllm::kernels {

void matmul_nbits(const PackedNBits& w, const float* A, int64_t M, const float* bias, float* Y,
                  ThreadPool& pool) {
  using nbits::NBitsKernel;
  bool int8_act = w.accuracy_level() == 4;
  Isa isa = active_isa();
  const NBitsKernel* chosen = nullptr;
  // Scalar twins come first in the list; an entry for the active ISA overrides.
  for (const NBitsKernel& k : nbits::nbits_kernel_list())
    if (k.int8_activations == int8_act && (k.isa == isa || (chosen == nullptr && k.isa == Isa::scalar)))
      chosen = &k;
  nbits::matmul_nbits_with(*chosen, w, A, M, bias, Y, pool);
}

}  // namespace rllm::kernels
