// Public kernel API: everything engine/ calls. Each entry point dispatches once
// (see active_isa) to the best micro-kernel the CPU runs; `ref::` holds the
// scalar twins the tests compare against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "kernels/thread_pool.h"

namespace rllm::kernels {

// ---- dispatch -------------------------------------------------------------

// avx512amx: AVX512-VNNI plus AMX int8 tiles (Linux must grant the tile data
// state: without it the CPU counts as avx512vnni).
enum class Isa { scalar, avx2, avx512vnni, avx512amx, neon };

// Chosen once from cpuinfo; RLLM_ISA=scalar|avx2|avx512vnni|avx512amx|neon
// forces one (an unsupported forced ISA falls back to the best supported one,
// with a warning on stderr).
Isa active_isa();
const char* isa_name(Isa);
// The ISA whose kernels serve `isa` where it has none of its own: AMX CPUs
// run the AVX512-VNNI kernels for everything but the AMX GEMMs.
Isa fallback_isa(Isa);
// Why a better ISA the CPU has is not used ("" or ", AMX refused by the OS"),
// for --version next to isa_name(active_isa()).
const char* isa_note();
// True when this CPU (and this build) can run kernels of `isa`.
bool isa_supported(Isa);
// Test/bench hook: the ISA later calls use; returns the previous one.
// Asserts the ISA is supported.
Isa set_active_isa(Isa);

// ---- MatMulNBits (ONNX Runtime contrib op) --------------------------------

// The ONNX layout: B uint8 [N, ceil(K/bs), bs*bits/8] (4-bit: low nibble
// first along K), scales [N * n_blocks] f32 or f16, zero_points: none
// (= 2^(bits-1)), packed uint8 [N, ceil(n_blocks*bits/8)] (4-bit: low nibble =
// even block), or typed like the scales. W[n,k] = (q - zp) * scale.
enum class ZeroPoints { none, packed_u8, typed };
struct NBitsWeights {
  int64_t N = 0, K = 0;
  int bits = 4;
  int block_size = 32;
  const uint8_t* b = nullptr;
  const void* scales = nullptr;
  bool scales_f16 = false;
  const void* zero_points = nullptr;
  ZeroPoints zp = ZeroPoints::none;
};

struct AlignedFree {
  void operator()(void* p) const;
};

// Weights repacked once at load (kernels/nbits/nbits_kernel.h describes the
// layout: panels of 8 output columns, K interleaved in groups of 4). Every
// ISA's kernels read the same layout, so RLLM_ISA can change between pack and run.
class PackedNBits {
 public:
  static constexpr int64_t kPanel = 8;  // output columns per panel
  // Changes whenever the bytes pack_nbits writes for the same weights change:
  // packed copies kept across runs (formats/pack_cache.h) carry it.
  static constexpr int kLayoutVersion = 1;
  PackedNBits() = default;
  int64_t N() const { return n_; }
  int64_t K() const { return k_; }
  int bits() const { return bits_; }
  int block_size() const { return bs_; }
  int accuracy_level() const { return accuracy_level_; }
  ZeroPoints zp_mode() const { return zp_; }
  size_t bytes() const { return bytes_; }
  // The whole packed copy, bytes() long, 64-byte aligned.
  const std::shared_ptr<const uint8_t>& data() const { return data_; }

  // Layout details, used by the micro-kernels.
  int64_t k_padded() const { return kp_; }            // K rounded up to the block and to 32
  int64_t n_blocks() const { return nb_; }            // ceil(K / bs)
  int64_t n_blocks_padded() const { return kp_ / bs_; }
  int64_t n_panels() const { return (n_ + kPanel - 1) / kPanel; }
  int64_t chunk_bytes() const { return 32 * kPanel * bits_ / 8; }  // 32 K values x 8 columns
  int64_t panel_bytes() const { return kp_ / 32 * chunk_bytes(); }
  const uint8_t* panel(int64_t p) const { return data_.get() + p * panel_bytes(); }  // [kp/32, chunk_bytes]
  // Per panel, per block: 8 values, one per column: [n_panels, n_blocks_padded, 8].
  const float* scales() const { return reinterpret_cast<const float*>(data_.get() + scales_off_); }
  const uint8_t* zp_u8() const { return data_.get() + zp_off_; }  // if packed_u8
  const float* zp_f32() const { return reinterpret_cast<const float*>(data_.get() + zp_off_); }  // if typed

 private:
  friend PackedNBits nbits_layout(const NBitsWeights&, int);
  friend PackedNBits pack_nbits(const NBitsWeights&, int, ThreadPool*, const std::function<void(int64_t, int64_t)>&,
                                const std::function<std::shared_ptr<uint8_t>(size_t)>&);
  friend PackedNBits adopt_packed_nbits(const NBitsWeights&, int, std::shared_ptr<const uint8_t>, size_t);
  int64_t n_ = 0, k_ = 0, kp_ = 0, nb_ = 0;
  int bits_ = 4, bs_ = 32, accuracy_level_ = 0;
  ZeroPoints zp_ = ZeroPoints::none;
  size_t bytes_ = 0, scales_off_ = 0, zp_off_ = 0;
  std::shared_ptr<const uint8_t> data_;
};

// The layout of w packed at accuracy_level, without data.
PackedNBits nbits_layout(const NBitsWeights& w, int accuracy_level);
// accuracy_level as ORT: 4 = int8 activations quantized per block on the fly,
// integer dot products; 0/1/2/3 = fp32 activations.
// Panels are independent: a pool (nullable) splits them across threads.
// rows_packed, if set, is called (from the packing threads) with each range of
// rows [n0, n1) of w once packed, so the caller may release their source.
// allocate, if set, gives the memory to pack into (bytes() long, 64-byte
// aligned; null: the heap), e.g. a file-backed mapping kept across runs.
PackedNBits pack_nbits(const NBitsWeights& w, int accuracy_level, ThreadPool* pool = nullptr,
                       const std::function<void(int64_t, int64_t)>& rows_packed = {},
                       const std::function<std::shared_ptr<uint8_t>(size_t)>& allocate = {});
// w's packed copy from bytes pack_nbits wrote earlier (of the same shape,
// bits, block size, zero-point mode and accuracy_level; w's tensors are not
// read). `bytes` is kept alive by the result. Empty (N() == 0) when `size`
// or the alignment do not fit that layout.
PackedNBits adopt_packed_nbits(const NBitsWeights& w, int accuracy_level, std::shared_ptr<const uint8_t> bytes,
                               size_t size);
// Y[M,N] = A[M,K] · Wᵀ (+ bias[N] if non-null). Splits N on `pool`.
void matmul_nbits(const PackedNBits& w, const float* A, int64_t M, const float* bias, float* Y,
                  ThreadPool& pool);
// Reference dequantization of the ONNX layout: out W [N, K] fp32.
void dequantize_nbits(const NBitsWeights& w, float* out);
// Dequantization of the packed layout: out W [N, K] fp32 (equals dequantize_nbits).
void dequantize_packed(const PackedNBits& w, float* out);
// Row n of the same: out [K] fp32. A tied embedding lookup reads the lm_head's
// packed copy through it, so the mapped original can be dropped.
void dequantize_packed_row(const PackedNBits& w, int64_t n, float* out);

// ---- dense fp32 / fp16 / bf16 weights ------------------------------------

// Constant B [K, N] (ONNX MatMul layout), packed once into column panels of
// 16: panel p holds B[k, 16p .. 16p+15] for k = 0..K-1, zero-padded.
class PackedDense {
 public:
  static constexpr int64_t kPanel = 16;
  enum class Type : uint8_t { f32, f16, bf16 };
  PackedDense() = default;
  PackedDense(int64_t K, int64_t N, Type type, size_t bytes, std::unique_ptr<uint8_t[], AlignedFree> panels)
      : k_(K), n_(N), type_(type), bytes_(bytes), data_(std::move(panels)) {}
  int64_t K() const { return k_; }
  int64_t N() const { return n_; }
  Type type() const { return type_; }
  size_t bytes() const { return bytes_; }
  // [ceil(N/16), K, 16], 64-byte aligned: fp32, or 16-bit (IEEE half or bfloat16) as type() says.
  const float* panels() const { return reinterpret_cast<const float*>(data_.get()); }
  const uint16_t* panels_16() const { return reinterpret_cast<const uint16_t*>(data_.get()); }

 private:
  int64_t k_ = 0, n_ = 0;
  Type type_ = Type::f32;
  size_t bytes_ = 0;
  std::unique_ptr<uint8_t[], AlignedFree> data_;
};

PackedDense pack_f32(const float* B, int64_t K, int64_t N);     // B row-major [K, N]
// B row-major [K, N], IEEE half, kept in half: the kernels widen each panel
// row in registers (F16C, AVX-512F, NEON fcvtl), so an fp16 model reads half
// the bytes of fp32 per token and holds half the memory.
PackedDense pack_f16(const uint16_t* B, int64_t K, int64_t N);
// B row-major [K, N], bfloat16 bits, kept in bfloat16 and widened in registers
// (a 16-bit shift: exact on every ISA), with fp32 activations and accumulation.
PackedDense pack_bf16(const uint16_t* B, int64_t K, int64_t N);
// Y[M,N] = A[M,K] · B
void matmul_packed(const PackedDense& w, const float* A, int64_t M, float* Y, ThreadPool& pool);
// C[M,N] = A[M,K] · B[K,N], all row-major with leading dimensions.
void gemm_f32(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
              int64_t M, int64_t N, int64_t K, ThreadPool& pool);

// ---- int8 GEMM (MatMulInteger, quantize_dynamic and QDQ MatMul) ----------

// Constant B [K, N] (the ONNX MatMulInteger layout), uint8 or int8, with a
// zero point per tensor (one value) or per column (N values) of B's type.
struct Int8Weights {
  int64_t K = 0, N = 0;
  const void* b = nullptr;
  bool b_signed = true;
  const void* zero_points = nullptr;  // null: 0
  bool zp_per_column = false;
};

// B packed once at load (kernels/int8/int8_kernel.h describes the layouts).
class PackedInt8 {
 public:
  // quad_s8: int8 panels [N/16][Kp/4][16][4], uint8 weights stored as b - 128;
  // pair_s16: int16 panels [N/16][Kp/2][16][2] of b - zp (u8 weights on AVX2).
  enum class Layout { quad_s8, pair_s16 };
  static constexpr int64_t kPanel = 16;
  PackedInt8() = default;
  int64_t K() const { return k_; }
  int64_t N() const { return n_; }
  int64_t k_padded() const { return kp_; }  // K rounded up to 4
  bool b_signed() const { return signed_; }
  Layout layout() const { return layout_; }
  size_t bytes() const { return bytes_; }
  const void* panels() const { return data_.get(); }
  // [N rounded up to 16]: the stored zero point (quad_s8: zp, or zp - 128 for
  // uint8 weights; pair_s16: 0) and the column sums of the stored values.
  const int32_t* zero_points() const { return reinterpret_cast<const int32_t*>(data_.get() + zp_off_); }
  const int32_t* column_sums() const { return reinterpret_cast<const int32_t*>(data_.get() + sum_off_); }

 private:
  friend PackedInt8 pack_int8(const Int8Weights&, Layout);
  int64_t k_ = 0, n_ = 0, kp_ = 0;
  bool signed_ = true;
  Layout layout_ = Layout::quad_s8;
  size_t bytes_ = 0, zp_off_ = 0, sum_off_ = 0;
  std::unique_ptr<uint8_t[], AlignedFree> data_;
};

// The layout the active ISA's kernels read best: pair_s16 for uint8 weights
// on AVX2 (exact int16 products, as onnxruntime's U8U8 AVX2 kernel), else quad_s8.
PackedInt8::Layout preferred_int8_layout(bool b_signed);
PackedInt8 pack_int8(const Int8Weights& w, PackedInt8::Layout layout);
inline PackedInt8 pack_int8(const Int8Weights& w) { return pack_int8(w, preferred_int8_layout(w.b_signed)); }

// What to do with the int32 sums: nothing (C int32), or
// Y = float(C) · scale[n] (+ bias[n]), each step rounded to f32 in that order,
// as the Cast → Mul → Add nodes of onnxruntime's graphs.
struct Int8Output {
  int32_t* c = nullptr;        // int32 out, or
  float* y = nullptr;          // float out
  int64_t ld = 0;              // row stride of c or y
  const float* scale = nullptr;  // [N], with y
  const float* bias = nullptr;   // [N] or null
};

// C[m, n] = Σ_k (A[m, k] − a_zp) · (B[k, n] − b_zp[n]) for A uint8 [M, K]
// (row stride lda). Integer math is exact except on AVX2 without VNNI with
// int8 weights, where each pair of products (k, k+1), k even, saturates to
// int16 before accumulation (vpmaddubsw), exactly as onnxruntime's MLAS
// U8S8 AVX2 kernel does, so both engines give the same sums on this CPU.
// Splits N on `pool`.
void gemm_u8x8(const PackedInt8& w, const uint8_t* A, int64_t lda, uint8_t a_zp, int64_t M,
               const Int8Output& out, ThreadPool& pool);
// True when gemm_u8x8 on this layout and ISA saturates products pairwise.
bool int8_saturates(const PackedInt8& w, Isa isa);
// DynamicQuantizeLinear's pieces, as onnxruntime computes them:
// [min(x, 0), max(x, 0)] (NaN skipped), and q = clamp(round_half_even(x / scale) + zp, 0, 255)
// (NaN to 0).
void minmax_with_zero(const float* x, int64_t n, float* mn, float* mx);
void quantize_u8(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q);

// ---- row kernels ------------------------------------------------------------

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y);
// sum = x + skip (+ bias); y = rmsnorm(sum) * w; sum_out (nullable) receives sum.
void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps,
                  int64_t n, float* y, float* sum_out);
void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n,
               float* y);
// x [n_heads, head_dim] in place; cos/sin [rotary_dim/2] for this position;
// rotates the first rotary_dim dims of each head. interleaved: pairs (0,1),
// (2,3)...; else halves (i, i + rotary_dim/2).
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
          const float* sin, bool interleaved);
void softmax(float* x, int64_t n);  // in place, max-subtracted
void silu_mul(const float* gate, const float* up, float* out, int64_t n);  // silu(gate) * up
void silu(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
float dot(const float* a, const float* b, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);  // y += alpha * x
// Decode attention over n cached rows for ng query heads that share them
// (one KV head's group): q [ng, hd], k and v [n, hd].
// scores[g * lds + j] = scale * dot(q_g, k_j), as dot() computes it.
void attn_scores(const float* q, int64_t ng, const float* k, int64_t n, int64_t hd, float scale, float* scores,
                 int64_t lds);
// y [ng, hd]: y_g += p[g * ldp + j] * v_j for j = 0..n-1 in order, as axpy() would.
void attn_accumulate(const float* p, int64_t ldp, int64_t ng, const float* v, int64_t n, int64_t hd, float* y);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_f16(const float* x, uint16_t* y, int64_t n);  // round to nearest even
// Symmetric per block: scales[b] = max|x| / 127 over block b, q = round(x / scale)
// (ties to even); the last block may be short. scales [ceil(n / block)].
void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales);

// ---- scalar twins (same signatures, plain C++) ----------------------------
namespace ref {
void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y);
void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps,
                  int64_t n, float* y, float* sum_out);
void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n,
               float* y);
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
          const float* sin, bool interleaved);
void softmax(float* x, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void silu(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
float dot(const float* a, const float* b, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);
void attn_scores(const float* q, int64_t ng, const float* k, int64_t n, int64_t hd, float scale, float* scores,
                 int64_t lds);
void attn_accumulate(const float* p, int64_t ldp, int64_t ng, const float* v, int64_t n, int64_t hd, float* y);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales);
// Plain loops over the ONNX layouts: C[m, n] = Σ_k (A[m,k] − a_zp)(B[k,n] − zp[n])
// (zp per tensor or per column, B uint8 or int8); saturate_pairs computes
// Σ_j sat16(A[m,2j]·B[2j,n] + A[m,2j+1]·B[2j+1,n]) on the raw values, then the
// zero-point terms, as vpmaddubsw kernels do.
void gemm_u8x8_i32(const uint8_t* A, int64_t lda, uint8_t a_zp, const Int8Weights& w, int64_t M,
                   int32_t* C, int64_t ldc, bool saturate_pairs);
void minmax_with_zero(const float* x, int64_t n, float* mn, float* mx);
void quantize_u8(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q);
}  // namespace ref

}  // namespace rllm::kernels
