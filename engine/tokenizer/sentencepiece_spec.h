// Internal to engine/tokenizer: the parts of a SentencePiece ModelProto the encoders
// and decoder use, and the vocabulary shared by the BPE and unigram encoders.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/string_map.h"

namespace rllm::tok::sp {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁"

// sentencepiece_model.proto enums.
enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
enum ModelType { kUnigram = 1, kBpe = 2 };

struct Piece {
  std::string text;
  float score = 0;
  int type = kNormal;
};

struct Spec {
  std::vector<Piece> pieces;
  int model_type = kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2;
  std::string unk_surface = " \xE2\x81\x87 ";  // " ⁇ "
  std::string normalizer_name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
};

// Piece lookup and the final step of both encoders: a piece becomes its id, or its
// UTF-8 bytes as <0xNN> pieces under byte fallback, or <unk>.
class Vocab : public Model {
 public:
  explicit Vocab(const Spec& s);
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_piece_.size()); }
  const std::string& id_to_token(int32_t id) const override;
  int32_t token_to_id(std::string_view token) const override;

 protected:
  void emit_piece(std::string_view piece, std::vector<int32_t>& out) const;

  bool byte_fallback_;
  int32_t unk_id_;
  std::vector<std::string> id_to_piece_;
  std::vector<float> scores_;
  std::vector<int> types_;
  StringMap<int32_t> pieces_;    // NORMAL, USER_DEFINED, UNUSED: what encoders may produce
  StringMap<int32_t> reserved_;  // UNKNOWN, CONTROL, BYTE
  int32_t byte_ids_[256] = {};
};

std::unique_ptr<Model> make_bpe(const Spec& s);
std::unique_ptr<Model> make_unigram(const Spec& s);

}  // namespace rllm::tok::sp
