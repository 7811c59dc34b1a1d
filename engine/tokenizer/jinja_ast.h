// Syntax tree of the Jinja subset, shared by the parser (jinja_parse.cpp) and the
// evaluator (jinja_eval.cpp).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/tokenizer/jinja.h"

namespace rllm::jinja {

// Raised inside the parser and evaluator, turned into a Status at their boundary.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal, name, attr, item, slice, call, filter, test, unary, binary, cond, list, dict
  };
  Kind kind;
  Value value;                 // literal
  std::string name;            // name, attr, filter, test, unary/binary operator
  std::vector<ExprPtr> args;   // operands / positional arguments / list items / dict k,v pairs
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;        // "is not"
  explicit Expr(Kind k) : kind(k) {}
};

struct Node {
  enum class Kind { text, output, if_, for_, set, block_set, break_, continue_ };
  Kind kind;
  std::string text;                       // text
  ExprPtr expr;                           // output, set value, for iterable
  std::vector<std::string> targets;       // for loop variables; set target (name [, attribute])
  ExprPtr filter;                         // for ... if filter
  // if: branches[i] runs when conds[i] holds, else_body otherwise. for: body, else_body.
  std::vector<ExprPtr> conds;
  std::vector<std::vector<std::unique_ptr<Node>>> branches;
  std::vector<std::unique_ptr<Node>> body, else_body;
  explicit Node(Kind k) : kind(k) {}
};

std::vector<std::unique_ptr<Node>> parse_template(std::string_view source);

}  // namespace rllm::jinja
