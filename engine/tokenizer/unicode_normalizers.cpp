// Unicode normalization forms (NFC, NFD, NFKC, NFKD) and Lowercase, through ICU: Qwen2
// and other byte-level tokenizers put NFC in front of their split regex.
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"

namespace rllm::tok {

namespace {

// UTF-8 -> UTF-16 -> f -> UTF-8. Input is valid UTF-8 (checked by encode()), so ICU
// errors can only be allocation failures; the text is then left as it was.
template <typename F>
void through_utf16(std::string& text, F f) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t n16 = 0;
  u_strFromUTF8(nullptr, 0, &n16, text.data(), static_cast<int32_t>(text.size()), &err);
  std::u16string in(static_cast<size_t>(n16), u'\0');
  err = U_ZERO_ERROR;
  u_strFromUTF8(in.data(), n16, nullptr, text.data(), static_cast<int32_t>(text.size()), &err);
  if (U_FAILURE(err)) return;
  std::u16string out;
  if (!f(in, out)) return;
  int32_t n8 = 0;
  err = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &n8, out.data(), static_cast<int32_t>(out.size()), &err);
  std::string res(static_cast<size_t>(n8), '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(res.data(), n8, nullptr, out.data(), static_cast<int32_t>(out.size()), &err);
  if (U_SUCCESS(err)) text = std::move(res);
}

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(const UNormalizer2* n) : n_(n) {}
  void normalize(std::string& text) const override {
    through_utf16(text, [&](const std::u16string& in, std::u16string& out) {
      UErrorCode err = U_ZERO_ERROR;
      const int32_t len = unorm2_normalize(n_, reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
                                           nullptr, 0, &err);
      out.assign(static_cast<size_t>(len), u'\0');
      err = U_ZERO_ERROR;
      unorm2_normalize(n_, reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
                       reinterpret_cast<UChar*>(out.data()), len, &err);
      return U_SUCCESS(err);
    });
  }

 private:
  const UNormalizer2* n_;  // owned by ICU
};

class Lowercase final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    through_utf16(text, [&](const std::u16string& in, std::u16string& out) {
      UErrorCode err = U_ZERO_ERROR;
      const int32_t len = u_strToLower(nullptr, 0, reinterpret_cast<const UChar*>(in.data()),
                                       static_cast<int32_t>(in.size()), "", &err);
      out.assign(static_cast<size_t>(len), u'\0');
      err = U_ZERO_ERROR;
      u_strToLower(reinterpret_cast<UChar*>(out.data()), len, reinterpret_cast<const UChar*>(in.data()),
                   static_cast<int32_t>(in.size()), "", &err);
      return U_SUCCESS(err);
    });
  }
};

}  // namespace

Result<std::unique_ptr<Normalizer>> make_unicode_normalizer(const std::string& type) {
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new Lowercase());
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = nullptr;
  if (type == "NFC") n = unorm2_getNFCInstance(&err);
  else if (type == "NFD") n = unorm2_getNFDInstance(&err);
  else if (type == "NFKC") n = unorm2_getNFKCInstance(&err);
  else if (type == "NFKD") n = unorm2_getNFKDInstance(&err);
  else return Status::error("not a Unicode normalizer: " + type);
  if (U_FAILURE(err) || !n) return Status::error(std::string("ICU cannot provide ") + type + ": " + u_errorName(err));
  return std::unique_ptr<Normalizer>(new UnicodeForm(n));
}

}  // namespace rllm::tok
