// MatMul, Gemm, MatMulNBits and GatherBlockQuantized. Constant weights are
// packed for the kernels once, when the plan is built.
#include <cstring>

#include "formats/pack_cache.h"
#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::need;
using ops::to_f32;

// Y [..., N] = A [..., K] · packed B [K, N].
class PackedMatMul : public Op {
 public:
  explicit PackedMatMul(kernels::PackedDense w) : w_(std::move(w)) {}
  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) override {
    RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
    RLLM_ASSIGN_OR_RETURN(Tensor a, to_f32(in[0]));
    if (a.rank() < 1 || a.dim(-1) != w_.K())
      return Status::error("A " + shape_str(a.shape()) + " does not match B's K=" + std::to_string(w_.K()));
    Shape s = a.shape();
    s.back() = w_.N();
    Tensor y = Tensor::uninit(DType::f32, s);
    kernels::matmul_packed(w_, a.as<float>(), a.numel() / w_.K(), y.mut<float>(), *ctx.pool);
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  }
  size_t packed_bytes() const override { return w_.bytes(); }

 private:
  kernels::PackedDense w_;
};

// Both operands at run time: batched C = A · B with numpy broadcasting of the batch dims.
Status matmul_dynamic(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "B"));
  RLLM_ASSIGN_OR_RETURN(Tensor a, to_f32(in[0]));
  RLLM_ASSIGN_OR_RETURN(Tensor b, to_f32(in[1]));
  bool a1 = a.rank() == 1, b1 = b.rank() == 1;
  if (a1) a = a.reshaped({1, a.dim(0)});
  if (b1) b = b.reshaped({b.dim(0), 1});
  int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
  if (b.dim(-2) != K)
    return Status::error("shapes " + shape_str(in[0].shape()) + " and " + shape_str(in[1].shape()) + " do not multiply");
  Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  RLLM_ASSIGN_OR_RETURN(Shape batch, ops::broadcast(ab, bb));
  Shape s = batch;
  if (!a1) s.push_back(M);
  if (!b1) s.push_back(N);
  Tensor y = Tensor::uninit(DType::f32, s);
  int64_t nb = shape_numel(batch);
  // Map a flat batch index to each operand's batch offset.
  auto offset = [&](const Shape& own, int64_t i) {
    int64_t off = 0, stride = 1;
    for (int d = static_cast<int>(batch.size()) - 1, od = static_cast<int>(own.size()) - 1; d >= 0; --d, --od) {
      int64_t idx = i % batch[d];
      i /= batch[d];
      if (od >= 0) {
        if (own[od] != 1) off += idx * stride;
        stride *= own[od];
      }
    }
    return off;
  };
  for (int64_t i = 0; i < nb; ++i)
    kernels::gemm_f32(a.as<float>() + offset(ab, i) * M * K, K, b.as<float>() + offset(bb, i) * K * N, N,
                      y.mut<float>() + i * M * N, N, M, N, K, *ctx.pool);
  out[0] = ops::from_f32(y, in[0].dtype());
  return ok_status();
}

Result<std::unique_ptr<Op>> matmul_factory(const LoadContext& lc) {
  const Tensor* b = lc.constant(1);
  if (b != nullptr && b->rank() == 2) {
    const int64_t K = b->dim(0), N = b->dim(1);
    switch (b->dtype()) {
      case DType::f32: return std::make_unique<PackedMatMul>(kernels::pack_f32(b->as<float>(), K, N));
      case DType::f16: return std::make_unique<PackedMatMul>(kernels::pack_f16(b->as<uint16_t>(), K, N));
      case DType::bf16: return std::make_unique<PackedMatMul>(kernels::pack_bf16(b->as<uint16_t>(), K, N));
      default: break;
    }
  }
  return make_op(matmul_dynamic);
}

// Y = alpha · A' · B' + beta · C, with A' = A or Aᵀ, B' = B or Bᵀ (2-D).
Result<std::unique_ptr<Op>> gemm_factory(const LoadContext& lc) {
  float alpha = lc.node.attr_f("alpha", 1.0f), beta = lc.node.attr_f("beta", 1.0f);
  bool ta = lc.node.attr_i("transA", 0) != 0, tb = lc.node.attr_i("transB", 0) != 0;
  return make_op([=](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) -> Status {
    RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
    RLLM_RETURN_IF_ERROR(need(in, 1, "B"));
    RLLM_ASSIGN_OR_RETURN(Tensor a, to_f32(in[0]));
    RLLM_ASSIGN_OR_RETURN(Tensor b, to_f32(in[1]));
    if (a.rank() != 2 || b.rank() != 2) return Status::error("Gemm needs 2-D A and B");
    auto transposed = [](const Tensor& t) {
      Tensor o = Tensor::uninit(DType::f32, {t.dim(1), t.dim(0)});
      for (int64_t i = 0; i < t.dim(0); ++i)
        for (int64_t j = 0; j < t.dim(1); ++j) o.mut<float>()[j * t.dim(0) + i] = t.as<float>()[i * t.dim(1) + j];
      return o;
    };
    if (ta) a = transposed(a);
    if (tb) b = transposed(b);
    int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
    if (b.dim(0) != K) return Status::error("A and B do not multiply");
    Tensor y = Tensor::uninit(DType::f32, {M, N});
    kernels::gemm_f32(a.as<float>(), K, b.as<float>(), N, y.mut<float>(), N, M, N, K, *ctx.pool);
    Tensor c;
    if (in.size() > 2 && in[2].dtype() != DType::undefined) {
      RLLM_ASSIGN_OR_RETURN(c, to_f32(in[2]));
    }
    float* py = y.mut<float>();
    if (c.dtype() != DType::undefined) {
      RLLM_ASSIGN_OR_RETURN(Shape bs, ops::broadcast(c.shape(), y.shape()));
      if (bs != y.shape()) return Status::error("C does not broadcast to the output");
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float cv = 0;
        if (c.dtype() != DType::undefined) {
          int64_t ci = c.rank() == 2 ? (c.dim(0) == 1 ? 0 : i) * c.dim(1) + (c.dim(1) == 1 ? 0 : j)
                                     : (c.rank() == 1 ? (c.dim(0) == 1 ? 0 : j) : 0);
          cv = c.as<float>()[ci];
        }
        py[i * N + j] = alpha * py[i * N + j] + beta * cv;
      }
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  });
}

class MatMulNBits : public Op {
 public:
  MatMulNBits(kernels::PackedNBits w, Tensor bias) : w_(std::move(w)), bias_(std::move(bias)) {}
  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) override {
    RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
    RLLM_ASSIGN_OR_RETURN(Tensor a, to_f32(in[0]));
    if (a.rank() < 1 || a.dim(-1) != w_.K())
      return Status::error("A " + shape_str(a.shape()) + " does not match K=" + std::to_string(w_.K()));
    Shape s = a.shape();
    s.back() = w_.N();
    Tensor y = Tensor::uninit(DType::f32, s);
    kernels::matmul_nbits(w_, a.as<float>(), a.numel() / w_.K(),
                          bias_.dtype() == DType::undefined ? nullptr : bias_.as<float>(), y.mut<float>(), *ctx.pool);
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  }
  size_t packed_bytes() const override { return w_.bytes(); }
  const kernels::PackedNBits* packed_nbits() const override { return &w_; }

 private:
  kernels::PackedNBits w_;
  Tensor bias_;  // f32 [N] or undefined
};

Result<std::unique_ptr<Op>> matmul_nbits_factory(const LoadContext& lc) {
  const OnnxNode& n = lc.node;
  kernels::NBitsWeights w;
  w.K = n.attr_i("K", 0);
  w.N = n.attr_i("N", 0);
  w.bits = static_cast<int>(n.attr_i("bits", 4));
  w.block_size = static_cast<int>(n.attr_i("block_size", 0));
  int accuracy = static_cast<int>(n.attr_i("accuracy_level", 0));
  if (w.bits != 4 && w.bits != 8) return lc.error("bits=" + std::to_string(w.bits) + " is not supported (4 or 8)");
  if (w.block_size < 16 || w.block_size > 256 || (w.block_size & (w.block_size - 1)))
    return lc.error("block_size=" + std::to_string(w.block_size) + " must be a power of two in [16, 256]");
  if (w.K <= 0 || w.N <= 0) return lc.error("attributes K and N must be positive");
  if (lc.has_input(4)) return lc.error("g_idx (input 4) is not supported");
  const Tensor* b = lc.constant(1);
  const Tensor* scales = lc.constant(2);
  if (b == nullptr || scales == nullptr) return lc.error("B and scales must be constant initializers");
  int64_t nb = (w.K + w.block_size - 1) / w.block_size;
  int64_t blob = w.block_size * w.bits / 8;
  if (b->dtype() != DType::u8 || b->numel() != w.N * nb * blob)
    return lc.error("B must be uint8 [N, n_blocks, blob] = [" + std::to_string(w.N) + ", " + std::to_string(nb) +
                    ", " + std::to_string(blob) + "], got " + std::string(dtype_name(b->dtype())) + " " + shape_str(b->shape()));
  if ((scales->dtype() != DType::f32 && scales->dtype() != DType::f16) || scales->numel() != w.N * nb)
    return lc.error("scales must be f32 or f16 with N*n_blocks = " + std::to_string(w.N * nb) + " elements");
  w.b = b->as<uint8_t>();
  w.scales = scales->data();
  w.scales_f16 = scales->dtype() == DType::f16;
  if (lc.has_input(3)) {
    const Tensor* zp = lc.constant(3);
    if (zp == nullptr) return lc.error("zero_points must be a constant initializer");
    if (zp->dtype() == DType::u8) {
      if (zp->numel() != w.N * ((nb * w.bits + 7) / 8)) return lc.error("packed zero_points have the wrong size");
      w.zp = kernels::ZeroPoints::packed_u8;
    } else if (zp->dtype() == scales->dtype()) {
      if (zp->numel() != w.N * nb) return lc.error("typed zero_points have the wrong size");
      w.zp = kernels::ZeroPoints::typed;
    } else {
      return lc.error("zero_points must be uint8 or the scales' type");
    }
    w.zero_points = zp->data();
  }
  Tensor bias;
  if (lc.has_input(5)) {
    const Tensor* bt = lc.constant(5);
    if (bt == nullptr || bt->numel() != w.N) return lc.error("bias must be a constant of N elements");
    RLLM_ASSIGN_OR_RETURN(bias, to_f32(*bt));
  }
  // The packed copy an earlier load kept, if it is there: then B is never read.
  std::string cache_key;
  if (lc.pack_cache != nullptr) {
    cache_key = "MatMulNBits layout " + std::to_string(kernels::PackedNBits::kLayoutVersion) + " " + n.name + "|" +
                n.inputs[1] + " N " + std::to_string(w.N) + " K " + std::to_string(w.K) + " bits " +
                std::to_string(w.bits) + " block " + std::to_string(w.block_size) + " zp " +
                std::to_string(static_cast<int>(w.zp)) + " accuracy " + std::to_string(accuracy);
    size_t size = 0;
    auto bytes = lc.pack_cache->find(cache_key, &size);
    if (bytes != nullptr) {
      kernels::PackedNBits cached = kernels::adopt_packed_nbits(w, accuracy, std::move(bytes), size);
      if (cached.N() == w.N) return std::make_unique<MatMulNBits>(std::move(cached), bias);
    }
  }
  std::function<void(int64_t, int64_t)> rows_packed;
  if (lc.release_source) {
    const size_t row_bytes = static_cast<size_t>(nb * blob);
    rows_packed = [&lc, base = w.b, row_bytes](int64_t n0, int64_t n1) {
      lc.release_source(base + static_cast<size_t>(n0) * row_bytes, static_cast<size_t>(n1 - n0) * row_bytes);
    };
  }
  std::function<std::shared_ptr<uint8_t>(size_t)> allocate;
  if (lc.pack_cache != nullptr)
    allocate = [&lc, &cache_key](size_t size) { return lc.pack_cache->allocate(cache_key, size); };
  return std::make_unique<MatMulNBits>(kernels::pack_nbits(w, accuracy, lc.pool, rows_packed, allocate), bias);
}

// GatherBlockQuantized (gather_axis 0, quantize_axis last): rows of a
// block-quantized table, dequantized: data [R, C*bits/8], scales [R, C/bs].
class GatherBlockQuantized : public Op {
 public:
  struct Table {
    Tensor data, scales_f32, zero_points;  // zero_points: u8 or undefined
    int64_t rows = 0, cols = 0, block = 0, n_blocks = 0;
    int bits = 4;
    bool signed4 = false;
    DType out_type = DType::f32;
  };
  explicit GatherBlockQuantized(Table t) : t_(std::move(t)) {}

  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) override {
    RLLM_RETURN_IF_ERROR(need(in, 1, "indices"));
    RLLM_ASSIGN_OR_RETURN(auto idx, ops::to_ints(in[1], "indices"));
    Shape s = in[1].shape();
    s.push_back(t_.cols);
    Tensor y = Tensor::uninit(DType::f32, s);
    for (size_t j = 0; j < idx.size(); ++j) {
      int64_t r = idx[j] < 0 ? idx[j] + t_.rows : idx[j];
      if (r < 0 || r >= t_.rows)
        return Status::error("index " + std::to_string(idx[j]) + " out of range [0, " + std::to_string(t_.rows) + ")");
      float* yr = y.mut<float>() + static_cast<int64_t>(j) * t_.cols;
      if (packed_ != nullptr)
        kernels::dequantize_packed_row(*packed_, r, yr);
      else
        dequantize_row(r, yr);
    }
    out[0] = ops::from_f32(y, t_.out_type);
    return ok_status();
  }

  bool read_packed_rows(const kernels::PackedNBits& w) override {
    if (w.N() != t_.rows || w.K() != t_.cols || w.bits() != t_.bits || w.block_size() != t_.block || t_.signed4)
      return false;
    packed_ = &w;
    t_.data = t_.scales_f32 = t_.zero_points = Tensor();
    return true;
  }

  // uint8 zero points of 4-bit data hold two blocks per byte, each row padded to a byte.
  int64_t zp_row_bytes() const { return t_.bits == 4 ? (t_.n_blocks + 1) / 2 : t_.n_blocks; }

 private:
  void dequantize_row(int64_t r, float* yr) const {
    const uint8_t* pd = t_.data.as<uint8_t>();
    bool nibbles = t_.bits == 4;
    float default_zp = static_cast<float>(t_.signed4 ? 0 : 1 << (t_.bits - 1));
    for (int64_t c = 0; c < t_.cols; ++c) {
      int64_t e = r * t_.cols + c;
      int q = nibbles ? (pd[e / 2] >> ((e & 1) * 4)) & 0xf : pd[e];
      if (t_.signed4 && q >= 8) q -= 16;
      int64_t b = c / t_.block;
      float z = default_zp;
      if (t_.zero_points.dtype() == DType::u8) {
        const uint8_t* zp = t_.zero_points.as<uint8_t>() + r * zp_row_bytes();
        z = static_cast<float>(nibbles ? (zp[b / 2] >> ((b & 1) * 4)) & 0xf : zp[b]);
      }
      yr[c] = (static_cast<float>(q) - z) * t_.scales_f32.as<float>()[r * t_.n_blocks + b];
    }
  }

  Table t_;
  const kernels::PackedNBits* packed_ = nullptr;
};

Result<std::unique_ptr<Op>> gather_block_quantized_factory(const LoadContext& lc) {
  const OnnxNode& n = lc.node;
  int64_t bits = n.attr_i("bits", 4), bs = n.attr_i("block_size", 128);
  int64_t gather_axis = n.attr_i("gather_axis", 0), quant_axis = n.attr_i("quantize_axis", 1);
  const Tensor* data = lc.constant(0);
  const Tensor* scales = lc.constant(2);
  if (data == nullptr || scales == nullptr) return lc.error("data and scales must be constant");
  if (data->rank() != 2 || gather_axis != 0 || (quant_axis != 1 && quant_axis != -1))
    return lc.error("only 2-D data with gather_axis 0 and quantize_axis 1 is supported");
  if (bits != 4 && bits != 8) return lc.error("bits must be 4 or 8");
  if (bs <= 0) return lc.error("block_size must be positive");
  if (data->dtype() != DType::u8 && data->dtype() != DType::u4 && data->dtype() != DType::i4)
    return lc.error("data must be uint8, uint4 or int4");
  GatherBlockQuantized::Table t;
  t.bits = static_cast<int>(bits);
  t.block = bs;
  t.rows = data->dim(0);
  t.cols = data->dtype() == DType::u8 && bits == 4 ? data->dim(1) * 2 : data->dim(1);
  t.n_blocks = (t.cols + bs - 1) / bs;
  if (scales->numel() != t.rows * t.n_blocks) return lc.error("scales must hold rows * ceil(cols / block_size) values");
  const Tensor* zp = lc.has_input(3) ? lc.constant(3) : nullptr;
  if (lc.has_input(3) && zp == nullptr) return lc.error("zero_points must be constant");
  if (zp != nullptr && zp->dtype() != DType::u8) return lc.error("only uint8 zero_points are supported");
  t.signed4 = data->dtype() == DType::i4;
  t.data = *data;
  if (zp != nullptr) t.zero_points = *zp;
  t.out_type = scales->dtype();
  RLLM_ASSIGN_OR_RETURN(t.scales_f32, to_f32(*scales));
  auto op = std::make_unique<GatherBlockQuantized>(std::move(t));
  if (zp != nullptr && zp->numel() != op->zp_row_bytes() * data->dim(0))
    return lc.error("zero_points must hold rows * " + std::to_string(op->zp_row_bytes()) + " bytes");
  return op;
}

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add("", "MatMul", 1, matmul_factory);
  r.add("", "Gemm", 7, gemm_factory);
  r.add("com.microsoft", "MatMulNBits", 1, matmul_nbits_factory);
  r.add("com.microsoft", "GatherBlockQuantized", 1, gather_block_quantized_factory);
}

}  // namespace rllm
