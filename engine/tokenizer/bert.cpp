// BertNormalizer and BertPreTokenizer (BERT, MiniLM, ... WordPiece tokenizers), with
// HF `tokenizers`' character classes. Those come from the `unicode_categories` crate,
// whose tables stop at Unicode 8.0: a character HF tests for "other" (control/format/
// private use), "punctuation" or "nonspacing mark" is one ICU puts in that category
// AND that Unicode 8.0 already assigned. Characters assigned later (U+08E2, U+2E43..)
// are plain letters to HF, so they are to us. Lowercasing is Rust's char::to_lowercase
// (per character: no final-sigma rule), NFD is ICU's. Checked against HF on every code
// point: the differences left are characters newer than ICU's Unicode (case pairs of
// Unicode 16, e.g. U+1C89, U+A7CB, U+10D50..) and U+11938's Unicode 13 decomposition.
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

namespace {

using nlohmann::json;

bool in_unicode_8(uint32_t cp) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(cp), age);
  return age[0] != 0 && age[0] <= 8;
}

// Characters whose category changed after Unicode 8.0, as HF's tables still have them:
// U+166D CANADIAN SYLLABICS CHI SIGN and U+111C9 SHARADA SANDHI MARK were punctuation
// (now So / Mn), U+1734 HANUNOO SIGN PAMUDPOD a nonspacing mark (now Mc), and U+1885,
// U+1886 (Mongolian) and U+A9BD (Javanese) were not nonspacing marks (now Mn).
bool was_punctuation(uint32_t cp) { return cp == 0x166D || cp == 0x111C9; }
bool was_not_nonspacing(uint32_t cp) { return cp == 0x1885 || cp == 0x1886 || cp == 0xA9BD || cp == 0x111C9; }

int8_t category(uint32_t cp) { return u_charType(static_cast<UChar32>(cp)); }

// bert.rs is_control: "other" (Cc, Cf, Co, Cs) except tab, newline and carriage return.
bool is_control(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const int8_t c = category(cp);
  const bool other = c == U_CONTROL_CHAR || c == U_FORMAT_CHAR || c == U_PRIVATE_USE_CHAR || c == U_SURROGATE;
  return other && in_unicode_8(cp);
}

bool is_punctuation(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
                        (cp >= 0x7B && cp <= 0x7E);
  if (was_punctuation(cp)) return true;
  const int8_t c = category(cp);
  const bool punct = c == U_CONNECTOR_PUNCTUATION || c == U_DASH_PUNCTUATION || c == U_START_PUNCTUATION ||
                     c == U_END_PUNCTUATION || c == U_INITIAL_PUNCTUATION || c == U_FINAL_PUNCTUATION ||
                     c == U_OTHER_PUNCTUATION;
  return punct && in_unicode_8(cp);
}

bool is_nonspacing_mark(uint32_t cp) {
  if (cp == 0x1734) return true;
  return category(cp) == U_NON_SPACING_MARK && in_unicode_8(cp) && !was_not_nonspacing(cp);
}

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Rust's char::to_lowercase: the simple mapping, except U+0130 whose full mapping
// is two characters.
void append_lower(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
  } else if (cp == 0x130) {
    out += "i\xCC\x87";
  } else {
    utf8_append(out, static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp))));
  }
}

std::string nfd(const std::string& text) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFDInstance(&err);
  int32_t n16 = 0;
  u_strFromUTF8(nullptr, 0, &n16, text.data(), static_cast<int32_t>(text.size()), &err);
  std::u16string in(static_cast<size_t>(n16), u'\0');
  err = U_ZERO_ERROR;
  u_strFromUTF8(in.data(), n16, nullptr, text.data(), static_cast<int32_t>(text.size()), &err);
  const auto* src = reinterpret_cast<const UChar*>(in.data());
  const int32_t len = unorm2_normalize(n, src, n16, nullptr, 0, &err);
  std::u16string out(static_cast<size_t>(len), u'\0');
  err = U_ZERO_ERROR;
  unorm2_normalize(n, src, n16, reinterpret_cast<UChar*>(out.data()), len, &err);
  int32_t n8 = 0;
  u_strToUTF8(nullptr, 0, &n8, out.data(), len, &err);
  std::string res(static_cast<size_t>(n8), '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(res.data(), n8, nullptr, out.data(), len, &err);
  return U_SUCCESS(err) ? res : text;
}

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text), chinese_(chinese), strip_accents_(strip_accents), lowercase_(lowercase) {}

  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size() + 8);
    for (size_t i = 0; i < text.size();) {
      uint32_t cp = utf8_next(text, i);
      if (clean_text_) {
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
        if (cp == '\t' || cp == '\n' || cp == '\r' || is_whitespace(cp)) cp = ' ';
      }
      if (chinese_ && is_chinese_char(cp)) {
        out += ' ';
        utf8_append(out, cp);
        out += ' ';
      } else {
        utf8_append(out, cp);
      }
    }
    if (strip_accents_) {
      const std::string decomposed = nfd(out);
      out.clear();
      for (size_t i = 0; i < decomposed.size();) {
        const uint32_t cp = utf8_next(decomposed, i);
        if (!is_nonspacing_mark(cp)) utf8_append(out, cp);
      }
    }
    if (lowercase_) {
      std::string lower;
      lower.reserve(out.size());
      for (size_t i = 0; i < out.size();) append_lower(lower, utf8_next(out, i));
      out = std::move(lower);
    }
    text = std::move(out);
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

// Splits on whitespace (dropped) and punctuation (each character its own piece).
class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    for (const PreToken& p : pieces) {
      const std::string& t = p.text;
      size_t start = 0;
      bool first = p.at_start;
      auto emit = [&](size_t b, size_t e) {
        if (e > b) {
          out.push_back({t.substr(b, e - b), first && b == 0});
        }
      };
      for (size_t i = 0; i < t.size();) {
        const size_t at = i;
        const uint32_t cp = utf8_next(t, i);
        if (is_whitespace(cp)) {
          emit(start, at);
          start = i;
        } else if (is_punctuation(cp)) {
          emit(start, at);
          emit(at, i);
          start = i;
        }
      }
      emit(start, t.size());
    }
    pieces = std::move(out);
  }
};

}  // namespace

Result<std::unique_ptr<Normalizer>> make_bert_normalizer(const json& j) {
  const bool lowercase = j.value("lowercase", true);
  // strip_accents: null follows lowercase, as in HF.
  const bool strip = j.contains("strip_accents") && !j["strip_accents"].is_null() ? j["strip_accents"].get<bool>()
                                                                                   : lowercase;
  return std::unique_ptr<Normalizer>(
      new BertNormalizer(j.value("clean_text", true), j.value("handle_chinese_chars", true), strip, lowercase));
}

Result<std::unique_ptr<PreTokenizer>> make_bert_pre_tokenizer() {
  return std::unique_ptr<PreTokenizer>(new BertPreTokenizer());
}

}  // namespace rllm::tok
