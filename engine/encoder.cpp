#include "engine/encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "engine/ops/op_util.h"

namespace rllm {
namespace {

namespace fs = std::filesystem;

bool is_float_type(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

Tensor ints(DType t, Shape s, const std::vector<int64_t>& v) {
  Tensor x = Tensor::uninit(t, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::i32) x.mut<int32_t>()[i] = static_cast<int32_t>(v[i]);
    else x.mut<int64_t>()[i] = v[i];
  }
  return x;
}

void l2_normalize(float* v, int64_t n) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(v[i]) * v[i];
  // sentence-transformers' Normalize: x / max(||x||, 1e-12).
  const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
  for (int64_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace

Result<std::unique_ptr<Encoder>> Encoder::load(const std::string& onnx_path, const EncoderOptions& options) {
  auto e = std::unique_ptr<Encoder>(new Encoder());
  e->path_ = onnx_path;
  RLLM_ASSIGN_OR_RETURN(OnnxModel m, OnnxModel::load(onnx_path));
  e->onnx_ = std::make_unique<OnnxModel>(std::move(m));
  Status s = e->init(options);
  if (!s.ok()) return Status::error(onnx_path + ": " + s.message());
  return e;
}

Status Encoder::init(const EncoderOptions& options) {
  const OnnxGraph& g = onnx_->graph;
  for (const auto& in : g.inputs) {
    bool is_init = false;
    for (const auto& t : g.initializers) is_init = is_init || t.name == in.name;
    if (is_init) continue;
    std::string* slot = in.name == "input_ids"        ? &input_ids_
                        : in.name == "attention_mask" ? &attention_mask_
                        : in.name == "token_type_ids" ? &token_type_ids_
                                                      : nullptr;
    if (slot == nullptr)
      return Status::error("graph input '" + in.name +
                           "' is not one an encoder takes (input_ids, attention_mask, token_type_ids)");
    if (in.elem_type != DType::i64 && in.elem_type != DType::i32)
      return Status::error("graph input '" + in.name + "' must be int64 or int32, got " +
                           std::string(dtype_name(in.elem_type)));
    *slot = in.name;
    (slot == &input_ids_ ? ids_type_ : slot == &attention_mask_ ? mask_type_ : types_type_) = in.elem_type;
  }
  if (input_ids_.empty()) return Status::error("the graph has no input 'input_ids'");
  if (attention_mask_.empty()) return Status::error("the graph has no input 'attention_mask'");

  // The output: by name first, then the first float output of rank 2 (pooled) or 3 (token states).
  auto rank_of = [](const OnnxValueInfo& o) { return o.has_shape ? static_cast<int>(o.dims.size()) : -1; };
  const OnnxValueInfo* chosen = nullptr;
  for (const auto& o : g.outputs) {
    if (o.name == "sentence_embedding") {
      chosen = &o;
      kind_ = EncoderOutput::sentence;
      break;
    }
  }
  for (const char* name : {"last_hidden_state", "token_embeddings"}) {
    for (const auto& o : g.outputs) {
      if (chosen == nullptr && o.name == name) {
        chosen = &o;
        kind_ = EncoderOutput::tokens;
      }
    }
  }
  for (int want : {2, 3}) {
    for (const auto& o : g.outputs) {
      if (chosen == nullptr && is_float_type(o.elem_type) && rank_of(o) == want && o.name != "pooler_output") {
        chosen = &o;
        kind_ = want == 2 ? EncoderOutput::sentence : EncoderOutput::tokens;
      }
    }
  }
  if (chosen == nullptr)
    return Status::error("no encoder output: expected 'sentence_embedding' [B, H], 'last_hidden_state' [B, S, H] "
                         "or a float output of rank 2 or 3");
  output_ = chosen->name;

  for (const auto& t : g.initializers) {
    if (t.name.find("position_embeddings") != std::string::npos && t.dims.size() == 2) max_positions_ = t.dims[0];
  }

  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<ThreadPool>(threads);
  RLLM_ASSIGN_OR_RETURN(plan_, Plan::build(*onnx_, {}, *pool_));
  mapped_bytes_ = onnx_->file->size();
  for (const auto& [loc, f] : onnx_->external_files) mapped_bytes_ += f->size();
  return ok_status();
}

Result<Tensor> Encoder::embed_ids(const std::vector<std::vector<int32_t>>& rows, bool normalize, int32_t pad_id) {
  // Rows of similar length run together: sorted by length, a new graph run
  // starts when a row is over 5/4 of the shortest of its run (+ 4 tokens),
  // so little work goes into padding that the mask discards anyway.
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].size() < rows[b].size(); });
  if (order.empty()) return embed_batch(rows, normalize, pad_id);
  Tensor result;
  for (size_t g0 = 0; g0 < order.size();) {
    size_t g1 = g0 + 1;
    // (Empty rows ride with the next row: a run needs one token.)
    while (g1 < order.size() &&
           (rows[order[g1 - 1]].empty() || rows[order[g1]].size() * 4 <= rows[order[g0]].size() * 5 + 16))
      ++g1;
    if (g0 == 0 && g1 == order.size()) return embed_batch(rows, normalize, pad_id);
    std::vector<std::vector<int32_t>> group;
    for (size_t k = g0; k < g1; ++k) group.push_back(rows[order[k]]);
    RLLM_ASSIGN_OR_RETURN(Tensor part, embed_batch(group, normalize, pad_id));
    const int64_t H = part.dim(1);
    if (g0 == 0) result = Tensor::uninit(DType::f32, {static_cast<int64_t>(rows.size()), H});
    for (size_t k = g0; k < g1; ++k)
      std::copy(part.as<float>() + (k - g0) * H, part.as<float>() + (k - g0 + 1) * H,
                result.mut<float>() + order[k] * H);
    g0 = g1;
  }
  return result;
}

Result<Tensor> Encoder::embed_batch(const std::vector<std::vector<int32_t>>& rows, bool normalize, int32_t pad_id) {
  const int64_t B = static_cast<int64_t>(rows.size());
  if (B == 0) return Tensor(DType::f32, {0, 0});
  int64_t S = 0;
  for (const auto& r : rows) S = std::max<int64_t>(S, static_cast<int64_t>(r.size()));
  if (S == 0) return Status::error(path_ + ": every row is empty (an encoder needs at least one token)");
  if (max_positions_ > 0 && S > max_positions_)
    return Status::error(path_ + ": " + std::to_string(S) + " tokens exceed the model's " +
                         std::to_string(max_positions_) + " positions");

  // ids/mask [B, S]: row b holds rows[b] then pad_id; mask 1 over the real tokens.
  std::vector<int64_t> ids(static_cast<size_t>(B * S), pad_id), mask(static_cast<size_t>(B * S), 0);
  for (int64_t b = 0; b < B; ++b) {
    for (size_t j = 0; j < rows[b].size(); ++j) {
      ids[b * S + j] = rows[b][j];
      mask[b * S + j] = 1;
    }
  }
  std::unordered_map<std::string, Tensor> inputs;
  inputs[input_ids_] = ints(ids_type_, {B, S}, ids);
  inputs[attention_mask_] = ints(mask_type_, {B, S}, mask);
  if (!token_type_ids_.empty()) inputs[token_type_ids_] = ints(types_type_, {B, S}, std::vector<int64_t>(ids.size(), 0));
  ExecContext ctx;
  ctx.pool = pool_.get();
  auto out = plan_->run(inputs, {output_}, ctx);
  if (!out.ok()) return Status::error(path_ + ": " + out.status().message());
  RLLM_ASSIGN_OR_RETURN(Tensor y, ops::to_f32(out.value()[0]));

  Tensor result;
  if (kind_ == EncoderOutput::sentence) {
    if (y.rank() != 2 || y.dim(0) != B)
      return Status::error(path_ + ": output '" + output_ + "' is " + shape_str(y.shape()) + ", expected [" +
                           std::to_string(B) + ", H]");
    result = Tensor::uninit(DType::f32, y.shape());
    std::copy(y.as<float>(), y.as<float>() + y.numel(), result.mut<float>());
  } else {
    if (y.rank() != 3 || y.dim(0) != B || y.dim(1) != S)
      return Status::error(path_ + ": output '" + output_ + "' is " + shape_str(y.shape()) + ", expected [" +
                           std::to_string(B) + ", " + std::to_string(S) + ", H]");
    // Mean over the unmasked tokens: y [B, S, H] -> [B, H].
    const int64_t H = y.dim(2);
    result = Tensor(DType::f32, {B, H});
    for (int64_t b = 0; b < B; ++b) {
      float* dst = result.mut<float>() + b * H;
      const int64_t n = static_cast<int64_t>(rows[b].size());
      for (int64_t j = 0; j < n; ++j) {
        const float* src = y.as<float>() + (b * S + j) * H;
        for (int64_t h = 0; h < H; ++h) dst[h] += src[h];
      }
      const float inv = 1.0f / static_cast<float>(std::max<int64_t>(n, 1));
      for (int64_t h = 0; h < H; ++h) dst[h] *= inv;
    }
  }
  if (normalize) {
    const int64_t H = result.dim(1);
    for (int64_t b = 0; b < B; ++b) l2_normalize(result.mut<float>() + b * H, H);
  }
  return result;
}

Result<std::unique_ptr<SentenceEncoder>> SentenceEncoder::load(const std::string& model, const EncoderOptions& options) {
  std::error_code ec;
  fs::path onnx = model;
  if (fs::is_directory(model, ec)) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(model, ec))
      if (entry.path().extension() == ".onnx") found.push_back(entry.path());
    if (found.empty()) return Status::error(model + ": no .onnx file in this folder");
    if (found.size() > 1) {
      std::sort(found.begin(), found.end());
      auto preferred = std::find_if(found.begin(), found.end(), [](const fs::path& p) { return p.filename() == "model.onnx"; });
      if (preferred == found.end())
        return Status::error(model + ": several .onnx files (" + found[0].filename().string() + ", " +
                             found[1].filename().string() + ", ...); name the one to use");
      onnx = *preferred;
    } else {
      onnx = found[0];
    }
  } else if (!fs::exists(model, ec)) {
    return Status::error(model + ": no such file or folder");
  }
  fs::path tok_path = options.tokenizer.empty() ? onnx.parent_path() / "tokenizer.json" : fs::path(options.tokenizer);
  if (!fs::exists(tok_path, ec)) {
    if (options.tokenizer.empty())
      return Status::error(onnx.string() + ": no tokenizer.json beside the model; pass the tokenizer with --tokenizer PATH");
    return Status::error(tok_path.string() + ": tokenizer file not found");
  }
  auto se = std::unique_ptr<SentenceEncoder>(new SentenceEncoder());
  RLLM_ASSIGN_OR_RETURN(se->tokenizer_, Tokenizer::load_file(tok_path.string()));
  RLLM_ASSIGN_OR_RETURN(se->encoder_, Encoder::load(onnx.string(), options));
  return se;
}

int64_t SentenceEncoder::max_length() const {
  const int64_t from_tokenizer = tokenizer_->truncation_max_length();
  const int64_t positions = encoder_->max_positions();
  if (from_tokenizer > 0) return positions > 0 ? std::min(from_tokenizer, positions) : from_tokenizer;
  return positions > 0 ? positions : 512;
}

Result<Embeddings> SentenceEncoder::embed(const std::vector<std::string>& texts, const EmbedOptions& options) {
  const int64_t max_len = options.max_length > 0 ? options.max_length : max_length();
  const int32_t pad = tokenizer_->pad_id();
  Embeddings result;
  std::vector<std::vector<int32_t>> rows;
  int64_t H = 0;
  std::vector<Tensor> parts;
  const size_t batch = static_cast<size_t>(std::max(1, options.batch));
  for (size_t i = 0; i < texts.size(); ++i) {
    bool cut = false;
    auto ids = tokenizer_->encode_truncated(texts[i], static_cast<size_t>(max_len), cut);
    if (!ids.ok()) return Status::error("text " + std::to_string(i + 1) + ": " + ids.status().message());
    if (cut) {
      if (options.long_input == LongInput::refuse)
        return Status::error("text " + std::to_string(i + 1) + " is longer than the model's " + std::to_string(max_len) +
                             " tokens (truncate it, or allow truncation)");
      result.truncated.push_back(i);
    }
    rows.push_back(std::move(ids).value());
    if (rows.size() == batch || i + 1 == texts.size()) {
      RLLM_ASSIGN_OR_RETURN(Tensor e, encoder_->embed_ids(rows, options.normalize, pad));
      H = e.dim(1);
      parts.push_back(std::move(e));
      rows.clear();
    }
  }
  result.vectors = Tensor(DType::f32, {static_cast<int64_t>(texts.size()), H});
  float* dst = result.vectors.mut<float>();
  for (const Tensor& p : parts) dst = std::copy(p.as<float>(), p.as<float>() + p.numel(), dst);
  return result;
}

}  // namespace rllm
