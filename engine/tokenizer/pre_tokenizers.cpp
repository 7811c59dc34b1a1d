// Pre-tokenizers of tokenizer.json: ByteLevel, Split, Metaspace, Digits, Sequence
// (BertPreTokenizer is in bert.cpp),
// with HF's split behaviours (Isolated, Removed, MergedWith*, Contiguous).
#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/regex.h"

namespace rllm::tok {

namespace {

using nlohmann::json;

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Result<Behavior> parse_behavior(const std::string& s) {
  if (s == "Removed") return Behavior::removed;
  if (s == "Isolated") return Behavior::isolated;
  if (s == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (s == "MergedWithNext") return Behavior::merged_with_next;
  if (s == "Contiguous") return Behavior::contiguous;
  return Status::error("tokenizer.json: unknown split behavior \"" + s + "\"");
}

// Splits one piece around the matches of `re` (HF NormalizedString::split).
void split_piece(const PreToken& piece, const Regex& re, Behavior behavior, bool invert,
                 std::vector<PreToken>& out) {
  struct Run {
    size_t b, e;
    bool match;
  };
  std::vector<Run> runs;
  const std::string& text = piece.text;
  size_t done = 0;
  for (auto [b, e] : re.find_all(text)) {
    if (b > done) runs.push_back({done, b, invert});
    runs.push_back({b, e, !invert});
    done = e;
  }
  if (done < text.size()) runs.push_back({done, text.size(), invert});

  std::vector<std::pair<size_t, size_t>> spans;
  switch (behavior) {
    case Behavior::isolated:
      for (const Run& r : runs) spans.emplace_back(r.b, r.e);
      break;
    case Behavior::removed:
      for (const Run& r : runs)
        if (!r.match) spans.emplace_back(r.b, r.e);
      break;
    case Behavior::contiguous: {
      bool prev = false;
      for (const Run& r : runs) {
        if (!spans.empty() && r.match == prev) spans.back().second = r.e;
        else spans.emplace_back(r.b, r.e);
        prev = r.match;
      }
      break;
    }
    case Behavior::merged_with_previous: {
      bool prev = false;
      for (const Run& r : runs) {
        if (r.match && !prev && !spans.empty()) spans.back().second = r.e;
        else spans.emplace_back(r.b, r.e);
        prev = r.match;
      }
      break;
    }
    case Behavior::merged_with_next: {
      bool prev = false;
      for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
        if (it->match && !prev && !spans.empty()) spans.back().first = it->b;
        else spans.emplace_back(it->b, it->e);
        prev = it->match;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    }
  }
  for (auto [b, e] : spans) {
    if (e > b) out.push_back({text.substr(b, e - b), piece.at_start && b == 0});
  }
}

class Split final : public PreTokenizer {
 public:
  Split(std::unique_ptr<Regex> re, Behavior behavior, bool invert)
      : re_(std::move(re)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    for (const PreToken& p : pieces) split_piece(p, *re_, behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  std::unique_ptr<Regex> re_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, std::unique_ptr<Regex> re)
      : add_prefix_space_(add_prefix_space), re_(std::move(re)) {}
  void split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> words;
    for (PreToken& p : pieces) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, 1, ' ');
      if (re_) split_piece(p, *re_, Behavior::isolated, false, words);
      else if (!p.text.empty()) words.push_back(std::move(p));
    }
    for (PreToken& w : words) {
      std::string mapped;
      mapped.reserve(w.text.size() * 2);
      for (char c : w.text) mapped += byte_to_char(static_cast<uint8_t>(c));
      w.text = std::move(mapped);
    }
    pieces = std::move(words);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> re_;  // null when use_regex is false
};

class Metaspace final : public PreTokenizer {
 public:
  enum class Prepend { always, first, never };
  Metaspace(std::string replacement, Prepend prepend, bool split, std::unique_ptr<Regex> re)
      : rep_(std::move(replacement)), prepend_(prepend), split_(split), re_(std::move(re)) {}
  void split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    for (PreToken& p : pieces) {
      std::string t;
      for (char c : p.text) {
        if (c == ' ') t += rep_;
        else t += c;
      }
      const bool starts = t.compare(0, rep_.size(), rep_) == 0;
      if (!starts && (prepend_ == Prepend::always || (prepend_ == Prepend::first && p.at_start)))
        t.insert(0, rep_);
      p.text = std::move(t);
      if (split_) split_piece(p, *re_, Behavior::merged_with_next, false, out);
      else out.push_back(std::move(p));
    }
    pieces = std::move(out);
  }

 private:
  std::string rep_;
  Prepend prepend_;
  bool split_;
  std::unique_ptr<Regex> re_;  // the escaped replacement, for splitting
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void split(std::vector<PreToken>& pieces) const override {
    for (const auto& p : parts_) p->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const json& j) {
  const std::string type = j.value("type", "");
  if (type == "ByteLevel") {
    std::unique_ptr<Regex> re;
    if (j.value("use_regex", true)) {
      RLLM_ASSIGN_OR_RETURN(re, Regex::compile(kGpt2SplitRegex));
    }
    return std::unique_ptr<PreTokenizer>(new ByteLevel(j.value("add_prefix_space", false), std::move(re)));
  }
  if (type == "Split") {
    RLLM_ASSIGN_OR_RETURN(std::string pattern, pattern_to_regex(j.at("pattern")));
    RLLM_ASSIGN_OR_RETURN(auto re, Regex::compile(pattern));
    RLLM_ASSIGN_OR_RETURN(Behavior b, parse_behavior(j.at("behavior").get<std::string>()));
    return std::unique_ptr<PreTokenizer>(new Split(std::move(re), b, j.value("invert", false)));
  }
  if (type == "Digits") {
    RLLM_ASSIGN_OR_RETURN(auto re, Regex::compile("\\p{N}"));
    const Behavior b = j.value("individual_digits", false) ? Behavior::isolated : Behavior::contiguous;
    return std::unique_ptr<PreTokenizer>(new Split(std::move(re), b, false));
  }
  if (type == "Metaspace") {
    const std::string rep = j.value("replacement", "\xE2\x96\x81");
    Metaspace::Prepend prepend = Metaspace::Prepend::always;
    if (j.contains("prepend_scheme")) {
      const std::string s = j["prepend_scheme"].get<std::string>();
      prepend = s == "first" ? Metaspace::Prepend::first : s == "never" ? Metaspace::Prepend::never : Metaspace::Prepend::always;
    } else if (!j.value("add_prefix_space", true)) {
      prepend = Metaspace::Prepend::never;
    }
    RLLM_ASSIGN_OR_RETURN(auto re, Regex::compile(Regex::escape(rep)));
    return std::unique_ptr<PreTokenizer>(new Metaspace(rep, prepend, j.value("split", true), std::move(re)));
  }
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const auto& p : j.at("pretokenizers")) {
      RLLM_ASSIGN_OR_RETURN(auto part, make_pre_tokenizer(p));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(new Sequence(std::move(parts)));
  }
  return Status::error("tokenizer.json: unsupported pre_tokenizer type \"" + type +
                       "\" (supported: ByteLevel, Split, Digits, Metaspace, BertPreTokenizer, Sequence)");
}

}  // namespace rllm::tok
