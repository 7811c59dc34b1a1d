#include "genai_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rllm {
namespace {

using nlohmann::json;

template <typename T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) out = it->get<T>();
}

}  // namespace

std::string layer_name(const std::string& tmpl, int layer) {
  auto pos = tmpl.find("%d");
  if (pos == std::string::npos) return tmpl;
  return tmpl.substr(0, pos) + std::to_string(layer) + tmpl.substr(pos + 2);
}

Result<GenAiConfig> GenAiConfig::parse(const std::string& text, const std::string& path) {
  GenAiConfig c;
  try {
    json j = json::parse(text);
    if (!j.contains("model") || !j["model"].is_object())
      return Status::error(path + ": no \"model\" object");
    const json& m = j["model"];
    get(m, "type", c.model_type);
    get(m, "bos_token_id", c.bos_token_id);
    get(m, "pad_token_id", c.pad_token_id);
    get(m, "context_length", c.context_length);
    get(m, "vocab_size", c.vocab_size);
    if (auto it = m.find("eos_token_id"); it != m.end()) {
      if (it->is_array()) {
        c.eos_token_ids = it->get<std::vector<int64_t>>();
      } else {
        c.eos_token_ids = {it->get<int64_t>()};
      }
    }
    if (!m.contains("decoder") || !m["decoder"].is_object())
      return Status::error(path + ": no \"model.decoder\" object");
    const json& d = m["decoder"];
    get(d, "filename", c.decoder_filename);
    get(d, "head_size", c.head_size);
    get(d, "hidden_size", c.hidden_size);
    get(d, "num_attention_heads", c.num_attention_heads);
    get(d, "num_key_value_heads", c.num_key_value_heads);
    get(d, "num_hidden_layers", c.num_hidden_layers);
    if (auto it = d.find("inputs"); it != d.end()) {
      get(*it, "input_ids", c.input_ids);
      get(*it, "attention_mask", c.attention_mask);
      get(*it, "position_ids", c.position_ids);
      get(*it, "past_key_names", c.past_key_names);
      get(*it, "past_value_names", c.past_value_names);
    }
    if (auto it = d.find("outputs"); it != d.end()) {
      get(*it, "logits", c.logits);
      get(*it, "present_key_names", c.present_key_names);
      get(*it, "present_value_names", c.present_value_names);
    }
    if (auto it = j.find("search"); it != j.end()) {
      get(*it, "do_sample", c.search.do_sample);
      get(*it, "max_length", c.search.max_length);
      get(*it, "temperature", c.search.temperature);
      get(*it, "top_k", c.search.top_k);
      get(*it, "top_p", c.search.top_p);
      get(*it, "repetition_penalty", c.search.repetition_penalty);
    }
  } catch (const json::exception& e) {
    return Status::error(path + ": " + e.what());
  }
  if (c.decoder_filename.empty()) return Status::error(path + ": empty model.decoder.filename");
  return c;
}

Result<GenAiConfig> GenAiConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

}  // namespace rllm
