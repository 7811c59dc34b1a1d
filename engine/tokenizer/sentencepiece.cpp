#include "engine/tokenizer/sentencepiece.h"

#include <cstring>
#include <queue>

#include "engine/tokenizer/string_map.h"
#include "engine/tokenizer/utf8.h"
#include "formats/mapped_file.h"
#include "formats/protobuf_wire.h"

namespace rllm::tok {

namespace {

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

// bpe_model.cc: start from characters, repeatedly merge the adjacent pair whose
// concatenation is a piece with the highest score (leftmost on ties). Pieces of type
// UNUSED may be formed while merging but are split back into what formed them.
class SpBpeModel final : public Model {
 public:
  explicit SpBpeModel(const Spec& s) : byte_fallback_(s.byte_fallback), unk_id_(s.unk_id) {
    for (size_t i = 0; i < s.pieces.size(); ++i) {
      const Piece& p = s.pieces[i];
      const auto id = static_cast<int32_t>(i);
      id_to_piece_.push_back(p.text);
      scores_.push_back(p.score);
      unused_.push_back(p.type == kUnused);
      if (p.type == kNormal || p.type == kUserDefined || p.type == kUnused) pieces_.emplace(p.text, id);
      else reserved_.emplace(p.text, id);
      if (p.type == kByte && p.text.size() == 6) {
        byte_ids_[std::strtol(p.text.substr(3, 2).c_str(), nullptr, 16) & 0xFF] = id;
      }
    }
  }

  void tokenize(std::string_view text, std::vector<int32_t>& out) const override {
    struct Sym {
      size_t begin, len;
      int32_t prev, next;
    };
    std::vector<Sym> syms;
    for (size_t i = 0; i < text.size();) {
      const size_t n = std::min(utf8_len(static_cast<unsigned char>(text[i])), text.size() - i);
      const auto k = static_cast<int32_t>(syms.size());
      syms.push_back({i, n, k - 1, k + 1});
      i += n;
    }
    if (syms.empty()) return;
    syms.back().next = -1;

    struct Pair {
      float score;
      int32_t left, right;
      size_t len;
      bool operator<(const Pair& o) const { return score != o.score ? score < o.score : left > o.left; }
    };
    std::priority_queue<Pair> agenda;
    StringMap<std::pair<std::string, std::string>> rev_merge;
    auto piece_of = [&](const Sym& s) { return text.substr(s.begin, s.len); };
    auto maybe_add = [&](int32_t l, int32_t r) {
      if (l < 0 || r < 0) return;
      const std::string_view joined = text.substr(syms[static_cast<size_t>(l)].begin,
                                                  syms[static_cast<size_t>(l)].len + syms[static_cast<size_t>(r)].len);
      auto it = pieces_.find(joined);
      if (it == pieces_.end()) return;
      agenda.push({scores_[static_cast<size_t>(it->second)], l, r, joined.size()});
      if (unused_[static_cast<size_t>(it->second)]) {
        rev_merge.emplace(std::string(joined), std::make_pair(std::string(piece_of(syms[static_cast<size_t>(l)])),
                                                              std::string(piece_of(syms[static_cast<size_t>(r)]))));
      }
    };
    for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) maybe_add(i - 1, i);
    while (!agenda.empty()) {
      const Pair top = agenda.top();
      agenda.pop();
      Sym& l = syms[static_cast<size_t>(top.left)];
      Sym& r = syms[static_cast<size_t>(top.right)];
      // Stale: a side was merged away or grew since this pair was queued.
      if (l.len == 0 || r.len == 0 || l.len + r.len != top.len) continue;
      l.len += r.len;
      l.next = r.next;
      if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = top.left;
      r.len = 0;
      maybe_add(l.prev, top.left);
      maybe_add(top.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) emit(piece_of(syms[static_cast<size_t>(i)]), rev_merge, out);
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_piece_.size()); }
  const std::string& id_to_token(int32_t id) const override {
    static const std::string empty;
    return id >= 0 && id < vocab_size() ? id_to_piece_[static_cast<size_t>(id)] : empty;
  }
  int32_t token_to_id(std::string_view token) const override {
    if (auto it = reserved_.find(token); it != reserved_.end()) return it->second;
    if (auto it = pieces_.find(token); it != pieces_.end()) return it->second;
    return -1;
  }

 private:
  void emit(std::string_view piece, const StringMap<std::pair<std::string, std::string>>& rev_merge,
            std::vector<int32_t>& out) const {
    if (auto it = rev_merge.find(piece); it != rev_merge.end()) {
      emit(it->second.first, rev_merge, out);
      emit(it->second.second, rev_merge, out);
      return;
    }
    const int32_t id = token_to_id(piece);
    if (id >= 0 && id != unk_id_) {
      out.push_back(id);
    } else if (byte_fallback_) {
      for (char c : piece) out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    } else {
      out.push_back(unk_id_);
    }
  }

  bool byte_fallback_;
  int32_t unk_id_;
  std::vector<std::string> id_to_piece_;
  std::vector<float> scores_;
  std::vector<bool> unused_;
  StringMap<int32_t> pieces_;    // NORMAL, USER_DEFINED, UNUSED: can be merged into
  StringMap<int32_t> reserved_;  // UNKNOWN, CONTROL, BYTE
  int32_t byte_ids_[256] = {};
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
  auto parsed = parse_model(file->data(), file->size());
  if (!parsed.ok()) return Status::error(path + ": " + parsed.status().message());
  const Spec& s = parsed.value();
  if (s.model_type != kBpe) {
    return Status::error(path + ": SentencePiece model type " + std::to_string(s.model_type) +
                         " is not supported (supported: BPE); convert the model's tokenizer to tokenizer.json");
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
  p->model = std::make_unique<SpBpeModel>(s);
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
