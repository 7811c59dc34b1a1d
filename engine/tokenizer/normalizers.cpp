// Normalizers of tokenizer.json that decoder-only LLM tokenizers use.
#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/regex.h"

namespace rllm::tok {

namespace {

using nlohmann::json;

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string s) : s_(std::move(s)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, s_);
  }

 private:
  std::string s_;
};

class Replace final : public Normalizer {
 public:
  Replace(std::unique_ptr<Regex> re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    const auto matches = re_->find_all(text);
    if (matches.empty()) return;
    std::string out;
    size_t done = 0;
    for (auto [b, e] : matches) {
      out.append(text, done, b - done);
      out += content_;
      done = e;
    }
    out.append(text, done);
    text = std::move(out);
  }

 private:
  std::unique_ptr<Regex> re_;
  std::string content_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

Result<std::string> pattern_to_regex(const json& pattern) {
  if (pattern.contains("String")) return Regex::escape(pattern["String"].get<std::string>());
  if (pattern.contains("Regex")) return pattern["Regex"].get<std::string>();
  return Status::error("tokenizer.json: pattern is neither String nor Regex: " + pattern.dump());
}

Result<std::unique_ptr<Normalizer>> make_normalizer(const json& j) {
  const std::string type = j.value("type", "");
  if (type == "Prepend") return std::unique_ptr<Normalizer>(new Prepend(j.at("prepend").get<std::string>()));
  if (type == "Replace") {
    RLLM_ASSIGN_OR_RETURN(std::string re, pattern_to_regex(j.at("pattern")));
    RLLM_ASSIGN_OR_RETURN(auto compiled, Regex::compile(re));
    return std::unique_ptr<Normalizer>(new Replace(std::move(compiled), j.at("content").get<std::string>()));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& n : j.at("normalizers")) {
      RLLM_ASSIGN_OR_RETURN(auto p, make_normalizer(n));
      parts.push_back(std::move(p));
    }
    return std::unique_ptr<Normalizer>(new Sequence(std::move(parts)));
  }
  if (type == "BertNormalizer") return make_bert_normalizer(j);
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") {
    return make_unicode_normalizer(type);
  }
  return Status::error("tokenizer.json: unsupported normalizer type \"" + type +
                       "\" (supported: Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, BertNormalizer, Sequence)");
}

}  // namespace rllm::tok
