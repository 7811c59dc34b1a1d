// Loading: tokenizer.json (+ tokenizer_config.json, chat_template.jinja) into Parts.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/json_lists.h"
#include "engine/tokenizer/sentencepiece.h"
#include "engine/tokenizer/tokenizer.h"
#include "formats/mapped_file.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rllm {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::error("cannot open " + path);
  const std::streamoff size = in.tellg();
  if (size < 0) return Status::error("cannot read " + path);
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(text.data(), size)) return Status::error("cannot read " + path);
  return text;
}


// Ids the post-processor puts before and after a single sequence.
Result<tok::PostTemplate> parse_post_processor(const json& j) {
  tok::PostTemplate t;
  if (j.is_null()) return t;
  const std::string type = j.value("type", "");
  if (type == "ByteLevel") return t;
  if (type == "TemplateProcessing") {
    bool after = false;
    for (const auto& item : j.at("single")) {
      if (item.contains("Sequence")) {
        after = true;
        continue;
      }
      const std::string name = item.at("SpecialToken").at("id").get<std::string>();
      const auto& st = j.at("special_tokens");
      if (!st.contains(name)) return Status::error("tokenizer.json: post_processor names unknown special token " + name);
      for (const auto& id : st[name].at("ids")) (after ? t.suffix : t.prefix).push_back(id.get<int32_t>());
    }
    return t;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    t.prefix.push_back(j.at("cls").at(1).get<int32_t>());
    t.suffix.push_back(j.at("sep").at(1).get<int32_t>());
    return t;
  }
  if (type == "Sequence") {
    for (const auto& p : j.at("processors")) {
      RLLM_ASSIGN_OR_RETURN(tok::PostTemplate sub, parse_post_processor(p));
      t.prefix.insert(t.prefix.end(), sub.prefix.begin(), sub.prefix.end());
      t.suffix.insert(t.suffix.begin(), sub.suffix.begin(), sub.suffix.end());
    }
    return t;
  }
  return Status::error("tokenizer.json: unsupported post_processor type \"" + type +
                       "\" (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
}

// End-of-sequence tokens recognised by name when no tokenizer_config.json says.
void guess_eos(tok::Parts& p) {
  for (const char* name : {"</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<eos>"}) {
    const int32_t id = p.added.id_of(name);
    if (id >= 0 && p.added.is_special(id)) {
      p.eos_ids.push_back(id);
      if (p.eos_token.empty()) p.eos_token = name;
    }
  }
}

// tokenizer.json's members: model.vocab, model.merges and added_tokens read straight
// into lists (they are most of the file: Gemma-3's are 33 MB); the other members are
// small and become nlohmann values.
struct TokenizerJson {
  json rest = json::object();   // top-level members but model and added_tokens
  json model = json::object();  // model's members but vocab and merges
  bool has_model = false, has_vocab = false, has_merges = false;
  tok::VocabList vocab;
  tok::MergeList merges;
  std::vector<tok::AddedToken> added;
};

// A value JsonReader has already checked.
json parse_checked(tok::JsonReader& r) {
  json j = json::parse(r.skip_value(), nullptr, false);
  if (j.is_discarded()) r.fail("not valid JSON");
  return j;
}

// The members of a top-level object named in `keep` (the rest is checked and skipped).
Result<json> read_members(std::string_view text, const std::string& path, std::initializer_list<std::string_view> keep) {
  json out = json::object();
  try {
    tok::JsonReader r(text);
    if (r.peek() == tok::JsonReader::Kind::kObject) {
      std::string key;
      r.begin_object();
      while (r.next_member(key)) {
        if (std::find(keep.begin(), keep.end(), key) != keep.end()) out[key] = parse_checked(r);
        else r.skip_value();
      }
    } else {
      r.skip_value();
    }
    r.finish();
  } catch (const tok::JsonError& e) {
    return Status::error(path + ": " + tok::JsonReader::where(text, e.offset()) + ": " + e.what());
  }
  return out;
}

TokenizerJson read_tokenizer_members(std::string_view text) {
  TokenizerJson t;
  tok::JsonReader r(text);
  if (r.peek() != tok::JsonReader::Kind::kObject) r.fail("expected an object");
  std::string key;
  r.begin_object();
  while (r.next_member(key)) {
    if (key == "model") {
      if (r.peek() != tok::JsonReader::Kind::kObject) r.fail("model must be an object");
      t.has_model = true;
      r.begin_object();
      while (r.next_member(key)) {
        if (key == "vocab") {
          t.vocab = tok::read_vocab(r);
          t.has_vocab = true;
        } else if (key == "merges") {
          t.merges = tok::read_merges(r);
          t.has_merges = true;
        } else {
          t.model[key] = parse_checked(r);
        }
      }
    } else if (key == "added_tokens") {
      t.added = tok::read_added_tokens(r);
    } else {
      t.rest[key] = parse_checked(r);
    }
  }
  r.finish();
  return t;
}

Result<std::unique_ptr<tok::Model>> make_model(const TokenizerJson& t) {
  if (!t.has_model) return Status::error("no model");
  const std::string type = t.model.value("type", "BPE");
  if (type != "BPE" && type != "WordPiece") {
    return Status::error("unsupported model type \"" + type + "\" (supported: BPE, WordPiece)");
  }
  if (!t.has_vocab) return Status::error("model has no vocab");
  if (type == "WordPiece") return tok::make_wordpiece_model(t.model, t.vocab);
  if (!t.has_merges) return Status::error("BPE model has no merges");
  return tok::make_bpe_model(t.model, t.vocab, t.merges);
}

// `path` names the text in messages (a file, or "<memory>/tokenizer.json").
Result<std::unique_ptr<tok::Parts>> parse_tokenizer_json(TokenizerJson& t, const std::string& path) {
  auto p = std::make_unique<tok::Parts>();
  auto ctx = [&](const Status& s) { return Status::error(path + ": " + s.message()); };
  const json& j = t.rest;
  try {
    auto model = make_model(t);
    if (!model.ok()) return ctx(model.status());
    p->model = std::move(model).value();
    if (j.contains("normalizer") && !j["normalizer"].is_null()) {
      auto n = tok::make_normalizer(j["normalizer"]);
      if (!n.ok()) return ctx(n.status());
      p->normalizer = std::move(n).value();
    }
    if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null()) {
      auto pt = tok::make_pre_tokenizer(j["pre_tokenizer"]);
      if (!pt.ok()) return ctx(pt.status());
      p->pre_tokenizer = std::move(pt).value();
    }
    if (j.contains("decoder") && !j["decoder"].is_null()) {
      auto d = tok::make_decoder(j["decoder"]);
      if (!d.ok()) return ctx(d.status());
      p->decoder = std::move(d).value();
    }
    auto post = parse_post_processor(j.value("post_processor", json()));
    if (!post.ok()) return ctx(post.status());
    p->post = std::move(post).value();
    for (tok::AddedToken& a : t.added) p->added.add(std::move(a));
    if (j.contains("truncation") && j["truncation"].is_object()) {
      const int64_t max_len = j["truncation"].value("max_length", int64_t{0});
      if (max_len < 0) return Status::error(path + ": truncation.max_length must not be negative");
      p->truncation_max_length = max_len;
    }
    if (j.contains("padding") && j["padding"].is_object()) {
      p->pad_id = j["padding"].value("pad_id", int32_t{0});
    } else {
      for (const char* name : {"[PAD]", "<pad>"}) {
        const int32_t id = p->added.id_of(name);
        if (id >= 0 && p->pad_id == 0) p->pad_id = id;
      }
    }
  } catch (const json::exception& e) {
    return Status::error(path + ": unexpected tokenizer.json structure: " + e.what());
  }
  p->added.build(p->normalizer.get());
  if (!p->post.prefix.empty()) {
    p->bos_id = p->post.prefix.front();
    p->bos_token = p->added.by_id(p->bos_id) ? p->added.by_id(p->bos_id)->content : p->model->id_to_token(p->bos_id);
  }
  guess_eos(*p);
  return p;
}

// tokenizer_config.json's bos_token / eos_token: a string or {"content": ...}.
std::string token_string(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return {};
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return {};
}

int32_t lookup(const tok::Parts& p, const std::string& token) {
  const int32_t added = p.added.id_of(token);
  return added >= 0 ? added : p.model->token_to_id(token);
}

// tokenizer_config.json: special token names, whether BOS / EOS are added (as
// transformers rebuilds the post-processor from add_bos_token / add_eos_token), and
// the chat template.
Status apply_config(tok::Parts& p, const json& cfg, const std::string& path) {
  const std::string bos = token_string(cfg, "bos_token"), eos = token_string(cfg, "eos_token");
  if (!bos.empty()) {
    p.bos_token = bos;
    p.bos_id = lookup(p, bos);
  }
  if (!eos.empty()) {
    const int32_t id = lookup(p, eos);
    if (id < 0) return Status::error(path + ": eos_token \"" + eos + "\" is not in the vocabulary");
    p.eos_token = eos;
    p.eos_ids.assign(1, id);
  }
  const bool has_add_bos = cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean();
  const bool has_add_eos = cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean();
  if (has_add_bos || has_add_eos) {
    p.post = {};
    if (has_add_bos && cfg["add_bos_token"].get<bool>()) {
      if (p.bos_id < 0) return Status::error(path + ": add_bos_token is set but there is no bos_token");
      p.post.prefix.push_back(p.bos_id);
    }
    if (has_add_eos && cfg["add_eos_token"].get<bool>() && !p.eos_ids.empty()) p.post.suffix.push_back(p.eos_ids[0]);
  }
  if (cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) {
      p.chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {
      for (const auto& named : ct) {
        if (named.value("name", "") == "default") p.chat_template = named.value("template", "");
      }
    }
  }
  return ok_status();
}

// A large vocabulary's JSON tree (Gemma-3's 262k tokens and merges: ~150 MB of
// small nodes) is freed once parsed, but glibc keeps freed small chunks in the
// process unless asked to return them: without this they stay in its RSS.
void release_freed_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

Result<std::unique_ptr<tok::Parts>> parse_tokenizer_text(std::string_view text, const std::string& name) {
  Result<std::unique_ptr<tok::Parts>> parts = [&]() -> Result<std::unique_ptr<tok::Parts>> {
    TokenizerJson t;
    try {
      t = read_tokenizer_members(text);
    } catch (const tok::JsonError& e) {
      return Status::error(name + ": " + tok::JsonReader::where(text, e.offset()) + ": " + e.what());
    }
    return parse_tokenizer_json(t, name);
  }();
  release_freed_heap();
  return parts;
}

// The tokenizer_config.json members apply_config reads.
Result<json> parse_config(const std::string& text, const std::string& path) {
  return read_members(text, path, {"bos_token", "eos_token", "add_bos_token", "add_eos_token", "chat_template"});
}

Result<std::unique_ptr<tok::Parts>> read_tokenizer_json(const std::string& path) {
  // Mapped rather than read: no copy of a 33 MB file into fresh pages.
  RLLM_ASSIGN_OR_RETURN(auto file, MappedFile::open(path, MappedFile::Prefetch::populate));
  return parse_tokenizer_text(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()), path);
}

bool is_sentencepiece_model(const std::string& path) {
  if (path.ends_with(".model")) return true;
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  in >> c;  // skips whitespace: a JSON file starts with '{'
  return in && c != '{';
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_file(const std::string& path) {
  if (is_sentencepiece_model(path)) {
    RLLM_ASSIGN_OR_RETURN(auto parts, tok::load_sentencepiece(path));
    return std::make_unique<Tokenizer>(std::move(parts));
  }
  RLLM_ASSIGN_OR_RETURN(auto parts, read_tokenizer_json(path));
  return std::make_unique<Tokenizer>(std::move(parts));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_folder(const std::string& dir) {
  const fs::path d(dir);
  std::unique_ptr<tok::Parts> parts;
  if (fs::exists(d / "tokenizer.json")) {
    RLLM_ASSIGN_OR_RETURN(parts, read_tokenizer_json((d / "tokenizer.json").string()));
  } else if (fs::exists(d / "tokenizer.model")) {
    RLLM_ASSIGN_OR_RETURN(parts, tok::load_sentencepiece((d / "tokenizer.model").string()));
  } else {
    return Status::error(dir + ": no tokenizer.json or tokenizer.model in this folder");
  }
  const fs::path cfg_path = d / "tokenizer_config.json";
  if (fs::exists(cfg_path)) {
    RLLM_ASSIGN_OR_RETURN(std::string text, read_text(cfg_path.string()));
    RLLM_ASSIGN_OR_RETURN(json cfg, parse_config(text, cfg_path.string()));
    RLLM_RETURN_IF_ERROR(apply_config(*parts, cfg, cfg_path.string()));
  }
  // transformers reads a separate chat_template.jinja in preference to the config's.
  const fs::path jinja = d / "chat_template.jinja";
  if (fs::exists(jinja)) {
    RLLM_ASSIGN_OR_RETURN(parts->chat_template, read_text(jinja.string()));
  }
  return std::make_unique<Tokenizer>(std::move(parts));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_from_memory(const std::string& tokenizer_json,
                                                               const std::string& tokenizer_config_json,
                                                               const std::string& chat_template) {
  const std::string name = "<memory>/tokenizer.json", cfg_name = "<memory>/tokenizer_config.json";
  RLLM_ASSIGN_OR_RETURN(auto parts, parse_tokenizer_text(tokenizer_json, name));
  if (!tokenizer_config_json.empty()) {
    RLLM_ASSIGN_OR_RETURN(json cfg, parse_config(tokenizer_config_json, cfg_name));
    RLLM_RETURN_IF_ERROR(apply_config(*parts, cfg, cfg_name));
  }
  if (!chat_template.empty()) parts->chat_template = chat_template;
  return std::make_unique<Tokenizer>(std::move(parts));
}

}  // namespace rllm
