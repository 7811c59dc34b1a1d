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

// Limits on untrusted templates, far above what real chat templates reach (they nest
// a few levels and loop over the messages), so that a hostile or broken template is
// refused with a message instead of exhausting the stack, the memory or the time.
// Nested blocks ({% if %}, {% for %}, ...) and parenthesized / unary sub-expressions
// being parsed; Python's recursion limit stops Jinja2 itself near this depth.
inline constexpr int kMaxNesting = 100;
// Depth of one expression's syntax tree, chains like a + b + c or x|f|g included.
inline constexpr int kMaxExprDepth = 256;
// Nesting of lists and dicts built while rendering.
inline constexpr uint32_t kMaxValueDepth = 100;
// Items of one range(): Jinja2's sandbox (which transformers renders with) has this limit.
inline constexpr int64_t kMaxRange = 100000;
// One render's work: expression evaluations, loop iterations, items listed, values
// printed or compared. A 1,000-message chat takes under 5% of it with each verified
// family's template (tests/engine/tokenizer/chat_templates), ~60% with namespace_loop,
// whose list grows each turn. At the limit a render takes ~3 s under ASan.
inline constexpr int64_t kMaxSteps = 1'000'000;
// Bytes of strings one render produces (values and output): 256 MiB.
inline constexpr int64_t kMaxBytes = int64_t{256} << 20;

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
  int depth = 1;               // of this syntax tree
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
