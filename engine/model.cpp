#include "engine/model.h"

#include <chrono>
#include <set>
#include <thread>

#include "engine/kv_cache/kv_tensors.h"
#include "engine/ops/op_util.h"

namespace rllm {
namespace {

// Layer number of `name` under a "%d" template, or -1.
int match_layer(const std::string& tmpl, const std::string& name) {
  auto pos = tmpl.find("%d");
  if (pos == std::string::npos) return -1;
  std::string pre = tmpl.substr(0, pos), post = tmpl.substr(pos + 2);
  if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - post.size(), post.size(), post) != 0)
    return -1;
  std::string digits = name.substr(pre.size(), name.size() - pre.size() - post.size());
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

Tensor filled(DType t, Shape s, const std::function<int64_t(int64_t)>& value) {
  Tensor x = Tensor::uninit(t, std::move(s));
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::i32) x.mut<int32_t>()[i] = static_cast<int32_t>(value(i));
    else x.mut<int64_t>()[i] = value(i);
  }
  return x;
}

// Bytes of initializers one decoded token reads: each once, except a table
// used only as input 0 of Gather / GatherBlockQuantized (one row is looked up),
// the rule of bench/compare/compare.py's weight_bytes.
size_t decode_weight_bytes(const OnnxGraph& g) {
  std::set<std::string> lookup_only, read_whole;
  for (const auto& n : g.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      (k == 0 && (n.op_type == "Gather" || n.op_type == "GatherBlockQuantized") ? lookup_only : read_whole)
          .insert(n.inputs[k]);
  size_t bytes = 0;
  for (const auto& t : g.initializers)
    if (!lookup_only.count(t.name) || read_whole.count(t.name)) bytes += t.nbytes;
  return bytes;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const ModelOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  auto m = std::unique_ptr<Model>(new Model());
  RLLM_ASSIGN_OR_RETURN(m->files_, ModelFiles::locate(path));
  RLLM_ASSIGN_OR_RETURN(OnnxModel onnx, OnnxModel::load(m->files_.onnx_path, MappedFile::Prefetch::none));
  std::unique_ptr<PackCache> cache;
  if (options.pack_cache) {
    std::vector<std::string> files{onnx.file->path()};
    for (const auto& [location, f] : onnx.external_files) files.push_back(f->path());
    cache = PackCache::open(*options.pack_cache, files);
  }
  // Packing reads every weight once: stream the files from disk meanwhile. With
  // the packed weights mapped from the cache, only the tensors read as they are
  // (embeddings, norms) fault in.
  if (cache == nullptr || !cache->read_from_file()) {
    onnx.file->willneed();
    for (const auto& [location, f] : onnx.external_files) f->willneed();
  }
  RLLM_RETURN_IF_ERROR(m->init(std::move(onnx), options, cache.get()));
  if (cache != nullptr) {
    LoadStats& st = m->stats_;
    st.pack_cache_read = cache->read_from_file() && cache->hits() > 0;
    auto written = cache->save();
    st.pack_cache_note = written.ok() ? cache->note() : written.status().message();
    if (written.ok()) st.pack_cache_written = written.value();
    if (st.pack_cache_read || st.pack_cache_written > 0) st.pack_cache_file = cache->path();
  }
  m->stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

Result<std::unique_ptr<Model>> Model::load_from_memory(const void* onnx_bytes, size_t size,
                                                       ExternalDataResolver resolver,
                                                       const ModelOptions& options) {
  return load_from_memory(onnx_bytes, size, std::move(resolver), std::nullopt, options);
}

Result<std::unique_ptr<Model>> Model::load_from_memory(const void* onnx_bytes, size_t size,
                                                       ExternalDataResolver resolver,
                                                       std::optional<GenAiConfig> config,
                                                       const ModelOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  auto m = std::unique_ptr<Model>(new Model());
  m->files_.onnx_path = "<memory>";
  m->files_.config = std::move(config);
  RLLM_ASSIGN_OR_RETURN(OnnxModel onnx, OnnxModel::load_from_memory(onnx_bytes, size, "<memory>", std::move(resolver)));
  RLLM_RETURN_IF_ERROR(m->init(std::move(onnx), options));
  m->stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

Status Model::init(OnnxModel model, const ModelOptions& options, PackCache* pack_cache) {
  onnx_ = std::make_unique<OnnxModel>(std::move(model));
  const OnnxModel& m = *onnx_;
  GenAiConfig cfg = files_.config.value_or(GenAiConfig{});
  input_ids_ = cfg.input_ids;
  attention_mask_ = cfg.attention_mask;
  position_ids_ = cfg.position_ids;
  logits_ = cfg.logits;
  const std::string where = files_.onnx_path + ": ";

  // The KV cache's shape comes from the past inputs: [batch, kv_heads, past, head_dim].
  int layers = 0;
  bool has_ids = false;
  for (const auto& in : m.graph.inputs) {
    if (in.name == input_ids_) {
      has_ids = true;
      ids_type_ = in.elem_type;
    }
    if (in.name == attention_mask_) mask_type_ = in.elem_type;
    if (in.name == position_ids_) pos_type_ = in.elem_type;
    int lk = match_layer(cfg.past_key_names, in.name), lv = match_layer(cfg.past_value_names, in.name);
    if (lk < 0 && lv < 0) continue;
    past_names_.push_back(in.name);
    layers = std::max(layers, std::max(lk, lv) + 1);
    // Symbolic heads or head size fall back to genai_config.json.
    int64_t heads = in.dims.size() == 4 && in.dims[1].value > 0 ? in.dims[1].value : cfg.num_key_value_heads;
    int64_t head_dim = in.dims.size() == 4 && in.dims[3].value > 0 ? in.dims[3].value : cfg.head_size;
    if (in.dims.size() != 4 || heads <= 0 || head_dim <= 0)
      return Status::error(where + "past input '" + in.name +
                           "' must be [batch, kv_heads, past, head_size] with known heads and head size");
    kv_.kv_heads = static_cast<int>(heads);
    kv_.head_dim = static_cast<int>(head_dim);
  }
  RLLM_RETURN_IF_ERROR(bind_kv_tensors(m, cfg, where));
  if (!has_ids) return Status::error(where + "the graph has no input '" + input_ids_ + "'");
  if (ids_type_ != DType::i64 && ids_type_ != DType::i32)
    return Status::error(where + "input '" + input_ids_ + "' must be int64 or int32");
  kv_.n_layers = layers;
  kv_.block_tokens = options.kv_block_tokens;
  if (options.kv_dtype != DType::f32 && options.kv_dtype != DType::f16)
    return Status::error(where + "KV cache dtype must be f32 or f16, not " + std::string(dtype_name(options.kv_dtype)));
  kv_.dtype = options.kv_dtype;
  kv_.max_context = options.max_context > 0 ? options.max_context : (cfg.context_length > 0 ? cfg.context_length : 4096);
  bool has_logits = false;
  for (const auto& out : m.graph.outputs) {
    if (out.name != logits_) continue;
    has_logits = true;
    if (!out.dims.empty() && out.dims.back().value > 0) vocab_ = out.dims.back().value;
  }
  if (!has_logits) return Status::error(where + "the graph has no output '" + logits_ + "'");

  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<ThreadPool>(threads);
  PlanOptions po;
  po.last_position_output = logits_;
  po.pack_cache = pack_cache;
  po.kv_layer_of = [cfg](const std::string& name) {
    int l = match_layer(cfg.past_key_names, name);
    return l >= 0 ? l : match_layer(cfg.past_value_names, name);
  };
  auto plan = Plan::build(m, po, *pool_);
  if (!plan.ok()) return Status::error(where + plan.status().message());
  plan_ = std::move(plan).value();
  stats_.mapped_bytes = m.file->size();
  for (const auto& [loc, f] : m.external_files) stats_.mapped_bytes += f->size();
  stats_.decode_weight_bytes = decode_weight_bytes(m.graph);
  stats_.repacked_bytes = plan_->repacked_bytes();
  return ok_status();
}

Status Model::bind_kv_tensors(const OnnxModel& m, const GenAiConfig& cfg, const std::string& where) {
  // GroupQueryAttention and MultiHeadAttention read and write the paged cache
  // themselves; where no such op takes a past input, attention is spelled
  // with standard ops and the KV state travels as past/present tensors.
  std::set<std::string> past(past_names_.begin(), past_names_.end());
  for (const auto& n : m.graph.nodes)
    if (n.domain == "com.microsoft" && (n.op_type == "GroupQueryAttention" || n.op_type == "MultiHeadAttention"))
      for (const auto& in : n.inputs)
        if (past.count(in)) return ok_status();
  std::set<std::string> outputs;
  for (const auto& out : m.graph.outputs) outputs.insert(out.name);
  for (const auto& in : m.graph.inputs) {
    int lk = match_layer(cfg.past_key_names, in.name), lv = match_layer(cfg.past_value_names, in.name);
    if (lk < 0 && lv < 0) continue;
    KvTensor t;
    t.past = in.name;
    t.kv = lk >= 0 ? 0 : 1;
    t.layer = lk >= 0 ? lk : lv;
    t.present = layer_name(lk >= 0 ? cfg.present_key_names : cfg.present_value_names, t.layer);
    t.dtype = in.elem_type;
    if (t.dtype != DType::f32 && t.dtype != DType::f16)
      return Status::error(where + "past input '" + in.name + "' must be float or float16, not " +
                           std::string(dtype_name(t.dtype)));
    if (!outputs.count(t.present))
      return Status::error(where + "past input '" + in.name + "' has no present output '" + t.present +
                           "' (genai_config.json present_key_names/present_value_names)");
    kv_tensors_.push_back(std::move(t));
  }
  return ok_status();
}

Result<Tensor> Model::forward(KvCache& cache, const std::vector<int>& seqs,
                              const std::vector<std::vector<int32_t>>& tokens, Logits which) {
  const int64_t B = static_cast<int64_t>(seqs.size());
  if (B == 0 || tokens.size() != seqs.size()) return Status::error("forward: one token list per sequence");
  const int64_t S = static_cast<int64_t>(tokens[0].size());
  for (const auto& t : tokens)
    if (static_cast<int64_t>(t.size()) != S || S == 0) return Status::error("forward: every row needs the same, non-zero number of tokens");
  BatchState bs;
  bs.seqs = seqs;
  bs.n_new = S;
  int64_t max_past = 0, max_total = 0;
  for (int s : seqs) {
    bs.n_past.push_back(cache.length(s));
    max_past = std::max(max_past, cache.length(s));
    max_total = std::max(max_total, cache.length(s) + S);
  }
  for (int64_t b = 0; b < B; ++b) {
    for (int32_t id : tokens[b])
      if (vocab_ > 0 && (id < 0 || id >= vocab_))
        return Status::error("token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab_) + ")");
    Status st = cache.append(seqs[b], S);
    if (!st.ok()) {
      for (int64_t k = 0; k < b; ++k) cache.truncate(seqs[k], bs.n_past[k]);
      return st;
    }
  }
  auto& inputs = inputs_;
  inputs[input_ids_] = filled(ids_type_, {B, S}, [&](int64_t i) { return tokens[i / S][i % S]; });
  // Rows are right-aligned in the mask: a shorter row has zeros on the left.
  inputs[attention_mask_] = filled(mask_type_, {B, max_total}, [&](int64_t i) {
    int64_t b = i / max_total, j = i % max_total;
    return j >= max_total - (bs.n_past[b] + S) ? 1 : 0;
  });
  inputs[position_ids_] = filled(pos_type_, {B, S}, [&](int64_t i) { return bs.n_past[i / S] + i % S; });
  // Past inputs carry only their shape where attention ops read the paged cache;
  // otherwise they hold each row's past, left-padded to the longest.
  if (kv_tensors_.empty())
    for (const auto& name : past_names_)
      inputs[name] = Tensor::view(DType::f32, {B, kv_.kv_heads, max_past, kv_.head_dim}, nullptr);
  for (const auto& t : kv_tensors_) inputs[t.past] = gather_past(cache, bs, t.layer, t.kv, t.dtype);
  if (outputs_.empty()) {
    outputs_.push_back(logits_);
    for (const auto& t : kv_tensors_) outputs_.push_back(t.present);
  }
  ExecContext ctx;
  ctx.pool = pool_.get();
  ctx.kv = &cache;
  ctx.batch = &bs;
  RunOptions ro;
  ro.last_position_only = which == Logits::last;
  auto out = plan_->run(inputs, outputs_, ctx, ro);
  // The past tensors gathered for kv_tensors_ are not held between steps.
  for (const auto& t : kv_tensors_) inputs[t.past] = Tensor();
  Status st = out.ok() ? ok_status() : out.status();
  for (size_t i = 0; i < kv_tensors_.size() && st.ok(); ++i) {
    const KvTensor& t = kv_tensors_[i];
    st = scatter_present(cache, bs, t.layer, t.kv, out.value()[i + 1], t.present);
  }
  if (!st.ok()) {
    for (int64_t b = 0; b < B; ++b) cache.truncate(seqs[b], bs.n_past[b]);
    return Status::error(files_.onnx_path + ": " + st.message());
  }
  return ops::to_f32(out.value()[0]);
}

}  // namespace rllm
