#include "engine/tokenizer/sentencepiece.h"

#include <cstring>

#include "engine/tokenizer/sentencepiece_spec.h"
#include "engine/tokenizer/string_map.h"
#include "engine/tokenizer/utf8.h"
#include "formats/mapped_file.h"
#include "formats/protobuf_wire.h"

namespace rllm::tok {

namespace sp {

Vocab::Vocab(const Spec& s) : byte_fallback_(s.byte_fallback), unk_id_(s.unk_id) {
  for (size_t i = 0; i < s.pieces.size(); ++i) {
    const Piece& p = s.pieces[i];
    const auto id = static_cast<int32_t>(i);
    id_to_piece_.push_back(p.text);
    scores_.push_back(p.score);
    types_.push_back(p.type);
    if (p.type == kNormal || p.type == kUserDefined || p.type == kUnused) pieces_.emplace(p.text, id);
    else reserved_.emplace(p.text, id);
    if (p.type == kByte && p.text.size() == 6) byte_ids_[std::strtol(p.text.substr(3, 2).c_str(), nullptr, 16) & 0xFF] = id;
  }
}

const std::string& Vocab::id_to_token(int32_t id) const {
  static const std::string empty;
  return id >= 0 && id < vocab_size() ? id_to_piece_[static_cast<size_t>(id)] : empty;
}

int32_t Vocab::token_to_id(std::string_view token) const {
  if (auto it = reserved_.find(token); it != reserved_.end()) return it->second;
  if (auto it = pieces_.find(token); it != pieces_.end()) return it->second;
  return -1;
}

void Vocab::emit_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const int32_t id = token_to_id(piece);
  if (id >= 0 && id != unk_id_) {
    out.push_back(id);
  } else if (byte_fallback_) {
    for (char c : piece) out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
  } else {
    out.push_back(unk_id_);
  }
}

}  // namespace sp

namespace {

using namespace sp;

Status parse_piece(const WireField& f, Piece& p) {
  WireReader r(f.data, f.size);
  WireField g;
  while (r.next(g)) {
    if (g.number == 1 && g.type == WireType::bytes) p.text = std::string(g.bytes());
    else if (g.number == 2 && g.type == WireType::fixed32) {
      const auto bits = static_cast<uint32_t>(g.value);
      std::memcpy(&p.score, &bits, sizeof(float));
    } else if (g.number == 3 && g.type == WireType::varint) {
      p.type = static_cast<int>(g.value);
    }
  }
  return r.failed() ? Status::error("malformed SentencePiece piece: " + r.error()) : ok_status();
}

Result<Spec> parse_model(const uint8_t* data, size_t size) {
  Spec s;
  WireReader r(data, size);
  WireField f;
  while (r.next(f)) {
    if (f.type != WireType::bytes) continue;
    if (f.number == 1) {
      Piece p;
      RLLM_RETURN_IF_ERROR(parse_piece(f, p));
      s.pieces.push_back(std::move(p));
    } else if (f.number == 2) {  // TrainerSpec
      WireReader t(f.data, f.size);
      WireField g;
      while (t.next(g)) {
        switch (g.number) {
          case 3: s.model_type = static_cast<int>(g.value); break;
          case 24: s.treat_whitespace_as_suffix = g.value != 0; break;
          case 35: s.byte_fallback = g.value != 0; break;
          case 40: s.unk_id = static_cast<int32_t>(g.value); break;
          case 41: s.bos_id = static_cast<int32_t>(g.value); break;
          case 42: s.eos_id = static_cast<int32_t>(g.value); break;
          case 44: if (g.type == WireType::bytes) s.unk_surface = std::string(g.bytes()); break;
          default: break;
        }
      }
      if (t.failed()) return Status::error("malformed TrainerSpec: " + t.error());
    } else if (f.number == 3) {  // NormalizerSpec
      WireReader n(f.data, f.size);
      WireField g;
      while (n.next(g)) {
        switch (g.number) {
          case 1: s.normalizer_name = std::string(g.bytes()); break;
          case 2: s.has_charsmap = g.size > 0; break;
          case 3: s.add_dummy_prefix = g.value != 0; break;
          case 4: s.remove_extra_whitespaces = g.value != 0; break;
          case 5: s.escape_whitespaces = g.value != 0; break;
          default: break;
        }
      }
      if (n.failed()) return Status::error("malformed NormalizerSpec: " + n.error());
    }
  }
  if (r.failed()) return Status::error("malformed ModelProto: " + r.error());
  if (s.pieces.empty()) return Status::error("no pieces: not a SentencePiece model");
  return s;
}

// normalizer.cc with the identity rule: drop leading, trailing and repeated spaces
// (remove_extra_whitespaces), prepend the dummy "▁", spaces become "▁".
class SpNormalizer final : public Normalizer {
 public:
  explicit SpNormalizer(const Spec& s)
      : dummy_(s.add_dummy_prefix), extra_(s.remove_extra_whitespaces), escape_(s.escape_whitespaces) {}
  void normalize(std::string& text) const override {
    std::string_view in(text);
    if (extra_) {
      while (!in.empty() && in[0] == ' ') in.remove_prefix(1);
    }
    if (in.empty()) {
      text.clear();
      return;
    }
    const std::string_view space = escape_ ? kSpace : std::string_view(" ");
    std::string out;
    out.reserve(in.size() + in.size() / 2 + 3);
    if (dummy_) out += space;
    bool prev_space = extra_;
    for (char c : in) {
      if (c == ' ') {
        if (!prev_space) out += space;
        prev_space = extra_;
      } else {
        out += c;
        prev_space = false;
      }
    }
    if (extra_) {
      while (out.size() >= space.size() && out.compare(out.size() - space.size(), space.size(), space) == 0)
        out.resize(out.size() - space.size());
    }
    text = std::move(out);
  }

 private:
  bool dummy_, extra_, escape_;
};

// sentencepiece_processor.cc Decode: control pieces vanish, <unk> shows as the unk
// surface, byte pieces become bytes with each invalid byte as U+FFFD, "▁" is a space.
// While nothing visible has been produced, a piece's leading "▁" (the dummy prefix) is
// dropped; with remove_extra_whitespaces every such leading "▁" is.
class SpDecoder final : public Decoder {
 public:
  explicit SpDecoder(const Spec& s)
      : unk_surface_(s.unk_surface),
        strip_(s.add_dummy_prefix || s.remove_extra_whitespaces),
        strip_all_(s.remove_extra_whitespaces) {
    for (size_t i = 0; i < s.pieces.size(); ++i) {
      const Piece& p = s.pieces[i];
      if (p.type == kControl) control_.emplace(p.text, 0);
      if (p.type == kUnknown) unk_piece_ = p.text;
      if (p.type == kByte && p.text.size() == 6) bytes_.emplace(p.text, std::strtol(p.text.substr(3, 2).c_str(), nullptr, 16));
    }
  }

  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string text, run;
    bool at_start = true;
    auto flush_bytes = [&] {
      if (!run.empty()) at_start = false;
      for (size_t i = 0; i < run.size();) {
        const size_t n = utf8_len(static_cast<unsigned char>(run[i]));
        if (n > 1 && i + n <= run.size() && utf8_invalid_at(std::string_view(run).substr(i, n)) == std::string::npos) {
          text.append(run, i, n);
          i += n;
        } else if (n == 1 && static_cast<unsigned char>(run[i]) < 0x80) {
          text += run[i++];
        } else {
          text += "\xEF\xBF\xBD";
          ++i;
        }
      }
      run.clear();
    };
    for (const std::string& t : tokens) {
      if (auto b = bytes_.find(t); b != bytes_.end()) {
        run += static_cast<char>(b->second);
        continue;
      }
      flush_bytes();
      if (control_.count(t)) continue;
      if (t == unk_piece_) {
        text += unk_surface_;
        at_start = false;
        continue;
      }
      std::string_view piece(t);
      bool consumed = false;
      if (at_start && strip_ && piece.starts_with(kSpace)) {
        piece.remove_prefix(kSpace.size());
        consumed = !strip_all_;
      }
      if (consumed || !piece.empty()) at_start = false;
      for (size_t i = 0; i < piece.size();) {
        if (piece.substr(i).starts_with(kSpace)) {
          text += ' ';
          i += kSpace.size();
        } else {
          text += piece[i++];
        }
      }
    }
    flush_bytes();
    tokens.assign(1, std::move(text));
  }

 private:
  std::string unk_surface_, unk_piece_;
  bool strip_, strip_all_;
  StringMap<int> control_;
  StringMap<int> bytes_;
};

}  // namespace

Result<std::unique_ptr<Parts>> load_sentencepiece(const std::string& path) {
  RLLM_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return load_sentencepiece(file->data(), file->size(), path);
}

Result<std::unique_ptr<Parts>> load_sentencepiece(const uint8_t* data, size_t size, const std::string& path) {
  auto parsed = parse_model(data, size);
  if (!parsed.ok()) return Status::error(path + ": " + parsed.status().message());
  const Spec& s = parsed.value();
  if (s.model_type != kBpe && s.model_type != kUnigram) {
    return Status::error(path + ": SentencePiece model type " + std::to_string(s.model_type) +
                         " is not supported (supported: BPE, unigram); convert the model's tokenizer to tokenizer.json");
  }
  if (s.has_charsmap) {
    return Status::error(path + ": SentencePiece normalization rule \"" + s.normalizer_name +
                         "\" needs a precompiled character map, which is not supported (only \"identity\")");
  }
  if (s.treat_whitespace_as_suffix) return Status::error(path + ": treat_whitespace_as_suffix is not supported");
  const auto n = static_cast<int32_t>(s.pieces.size());
  for (int32_t id : {s.unk_id, s.bos_id, s.eos_id}) {
    if (id >= n) return Status::error(path + ": special id " + std::to_string(id) + " is outside the vocabulary");
  }

  auto p = std::make_unique<Parts>();
  p->normalizer = std::make_unique<SpNormalizer>(s);
  p->model = s.model_type == kBpe ? make_bpe(s) : make_unigram(s);
  p->decoder = std::make_unique<SpDecoder>(s);
  for (size_t i = 0; i < s.pieces.size(); ++i) {
    const Piece& piece = s.pieces[i];
    if (piece.type != kControl && piece.type != kUnknown) continue;
    AddedToken t;
    t.id = static_cast<int32_t>(i);
    t.content = piece.text;
    t.special = true;
    t.in_text = false;
    p->added.add(std::move(t));
  }
  p->added.build(nullptr);
  if (s.bos_id >= 0) {
    p->bos_id = s.bos_id;
    p->bos_token = s.pieces[static_cast<size_t>(s.bos_id)].text;
    p->post.prefix.push_back(s.bos_id);
  }
  if (s.eos_id >= 0) {
    p->eos_ids.push_back(s.eos_id);
    p->eos_token = s.pieces[static_cast<size_t>(s.eos_id)].text;
  }
  return p;
}

}  // namespace rllm::tok
