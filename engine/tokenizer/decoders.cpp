// Decoders of tokenizer.json (HF `decode_chain` semantics: each rewrites the list of
// token strings) and the SentencePiece decoder chain built from them.
#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

namespace {

using nlohmann::json;

// Joins every token's bytes; a token holding a character outside the byte map
// (an added token such as a run of spaces) contributes its raw UTF-8 instead.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      const size_t mark = bytes.size();
      bool mapped = true;
      for (size_t i = 0; i < t.size();) {
        const int b = char_to_byte(utf8_next(t, i));
        if (b < 0) {
          mapped = false;
          break;
        }
        bytes += static_cast<char>(b);
      }
      if (!mapped) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

// Runs of <0xNN> tokens become the bytes they name; an invalid run becomes one
// U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      if (utf8_invalid_at(run) == std::string::npos) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run_len; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      const int b = parse_byte(t);
      if (b >= 0) {
        run += static_cast<char>(b);
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

  static int parse_byte(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from
// every token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    const size_t n = content_.size();
    for (std::string& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t k = 0; k < start_ && e - b >= n && t.compare(b, n, content_) == 0; ++k) b += n;
      for (size_t k = 0; k < stop_ && e - b >= n && t.compare(e - n, n, content_) == 0; ++k) e -= n;
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Regex> re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      // The regex engine needs valid UTF-8; a malformed vocabulary entry is left as is.
      if (utf8_invalid_at(t) != std::string::npos) continue;
      std::string out;
      size_t done = 0;
      for (auto [b, e] : re_->find_all(t)) {
        out.append(t, done, b - done);
        out += content_;
        done = e;
      }
      out.append(t, done);
      t = std::move(out);
    }
  }

 private:
  std::unique_ptr<Regex> re_;
  std::string content_;
};

// "▁" becomes " ". In the first token HF drops every "▁" (not just a leading one) when
// the pre-tokenizer prepends one; this mirrors that.
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, bool strip_first) : rep_(std::move(rep)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string out;
      for (size_t p = 0; p < t.size();) {
        if (t.compare(p, rep_.size(), rep_) == 0) {
          if (!(i == 0 && strip_first_)) out += ' ';
          p += rep_.size();
        } else {
          out += t[p++];
        }
      }
      t = std::move(out);
    }
  }

 private:
  std::string rep_;
  bool strip_first_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> make_decoder(const json& j) {
  const std::string type = j.value("type", "");
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "WordPiece") return make_wordpiece_decoder(j);
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") {
    return std::unique_ptr<Decoder>(new StripDecoder(j.at("content").get<std::string>(),
                                                     j.value("start", size_t{0}), j.value("stop", size_t{0})));
  }
  if (type == "Replace") {
    RLLM_ASSIGN_OR_RETURN(std::string re, pattern_to_regex(j.at("pattern")));
    RLLM_ASSIGN_OR_RETURN(auto compiled, Regex::compile(re));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(compiled), j.at("content").get<std::string>()));
  }
  if (type == "Metaspace") {
    bool strip = j.value("add_prefix_space", true);
    if (j.contains("prepend_scheme")) strip = j["prepend_scheme"].get<std::string>() != "never";
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(j.value("replacement", "\xE2\x96\x81"), strip));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const auto& d : j.at("decoders")) {
      RLLM_ASSIGN_OR_RETURN(auto part, make_decoder(d));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(parts)));
  }
  return Status::error("tokenizer.json: unsupported decoder type \"" + type +
                       "\" (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, WordPiece, Sequence)");
}

std::unique_ptr<Decoder> make_sentencepiece_decoder(bool strip_leading_space) {
  std::vector<std::unique_ptr<Decoder>> parts;
  parts.emplace_back(new ReplaceDecoder(std::move(Regex::compile("\xE2\x96\x81").value()), " "));
  parts.emplace_back(new ByteFallbackDecoder());
  parts.emplace_back(new FuseDecoder());
  if (strip_leading_space) parts.emplace_back(new StripDecoder(" ", 1, 0));
  return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(parts)));
}

}  // namespace rllm::tok
