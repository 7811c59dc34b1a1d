// A Jinja2 subset for chat templates, rendering as transformers' apply_chat_template
// does (trim_blocks, lstrip_blocks, loop controls, raise_exception, namespace). What is
// supported is listed in README.md; anything else is a parse error naming it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/status.h"

namespace rllm::jinja {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, like Python

struct Value {
  enum class Kind { undefined, none, boolean, integer, floating, string, list, dict };
  Kind kind = Kind::undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;  // shared so namespace() attributes can be assigned
  // Containers: 1 + the deepest element (a namespace's is its depth when created).
  uint32_t depth = 0;
  // Made by namespace(): the only assignable dict, and never stored inside a container
  // or another namespace, so assignment cannot make a cycle or deepen a stored value.
  bool ns = false;

  static Value none() { return with(Kind::none); }
  static Value from(bool v) { Value x = with(Kind::boolean); x.b = v; return x; }
  static Value from(int64_t v) { Value x = with(Kind::integer); x.i = v; return x; }
  static Value from(double v) { Value x = with(Kind::floating); x.f = v; return x; }
  static Value from(std::string v) { Value x = with(Kind::string); x.s = std::move(v); return x; }
  static Value from(List v) {
    Value x = with(Kind::list);
    for (const Value& e : v) x.depth = std::max(x.depth, e.depth);
    ++x.depth;
    x.list = std::make_shared<List>(std::move(v));
    return x;
  }
  static Value from(Dict v) {
    Value x = with(Kind::dict);
    for (const auto& e : v) x.depth = std::max(x.depth, e.second.depth);
    ++x.depth;
    x.dict = std::make_shared<Dict>(std::move(v));
    return x;
  }

  const Value* find(std::string_view key) const;  // dict lookup, null if absent

 private:
  static Value with(Kind k) { Value x; x.kind = k; return x; }
};

struct Node;

class Template {
 public:
  static Result<Template> parse(std::string_view source);
  // `globals` are the template's variables (messages, add_generation_prompt, ...).
  Result<std::string> render(const std::map<std::string, Value>& globals) const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

 private:
  Template() = default;
  std::vector<std::unique_ptr<Node>> body_;
};

}  // namespace rllm::jinja
