// genai_config.json of an ONNX Runtime GenAI model folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace rllm {

struct GenAiSearch {
  bool do_sample = false;
  int64_t max_length = 0;
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;
};

struct GenAiConfig {
  std::string model_type;
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be an int or a list
  int64_t pad_token_id = -1;
  int64_t context_length = 0;
  int64_t vocab_size = 0;

  std::string decoder_filename = "model.onnx";
  int64_t head_size = 0, hidden_size = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, num_hidden_layers = 0;

  // Graph input/output names; the past/present ones are printf templates with %d.
  std::string input_ids = "input_ids", attention_mask = "attention_mask",
              position_ids = "position_ids";
  std::string past_key_names = "past_key_values.%d.key", past_value_names = "past_key_values.%d.value";
  std::string logits = "logits";
  std::string present_key_names = "present.%d.key", present_value_names = "present.%d.value";

  GenAiSearch search;

  static Result<GenAiConfig> load(const std::string& path);
  static Result<GenAiConfig> parse(const std::string& text, const std::string& path);
};

// Expands a "%d" name template for one layer.
std::string layer_name(const std::string& tmpl, int layer);

}  // namespace rllm
