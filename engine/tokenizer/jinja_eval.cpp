// Evaluation of the Jinja subset with Python semantics where templates can see them
// (truthiness, str() of values, slicing, string methods) and transformers' globals.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <climits>
#include <functional>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/tokenizer/jinja_ast.h"

namespace rllm::jinja {

const Value* Value::find(std::string_view key) const {
  if (kind != Kind::dict) return nullptr;
  for (const auto& [k, v] : *dict)
    if (k == key) return &v;
  return nullptr;
}

namespace {

using K = Value::Kind;

// The work and string bytes of the render running on this thread, against kMaxSteps
// and kMaxBytes (the free functions below charge it too).
struct Budget {
  int64_t steps = 0, bytes = 0;
};
thread_local Budget t_budget;

void charge_steps(int64_t n) {
  t_budget.steps += n;
  if (t_budget.steps > kMaxSteps)
    throw Error("rendering stopped after " + std::to_string(kMaxSteps) +
                " steps (evaluations, loop iterations, items); the template does not finish");
}

void charge_bytes(int64_t n) {
  if (n > kMaxBytes - t_budget.bytes)
    throw Error("rendering stopped at " + std::to_string(kMaxBytes >> 20) + " MiB of strings produced");
  t_budget.bytes += n;
}

void charge_bytes(const Value& v) {
  if (v.kind == K::string) charge_bytes(static_cast<int64_t>(v.s.size()));
}

// Python ints are unbounded; a 64-bit result that would wrap is an error instead.
[[noreturn]] void overflow(const std::string& op) { throw Error("integer overflow in " + op); }

bool truthy(const Value& v) {
  switch (v.kind) {
    case K::undefined:
    case K::none: return false;
    case K::boolean: return v.b;
    case K::integer: return v.i != 0;
    case K::floating: return v.f != 0;
    case K::string: return !v.s.empty();
    case K::list: return !v.list->empty();
    case K::dict: return !v.dict->empty();
  }
  return false;
}

std::string repr(const Value& v);

std::string str(const Value& v) {
  switch (v.kind) {
    case K::undefined: return "";
    case K::none: return "None";
    case K::boolean: return v.b ? "True" : "False";
    case K::integer: return std::to_string(v.i);
    case K::floating: {
      if (std::isfinite(v.f) && v.f == std::floor(v.f) && std::fabs(v.f) < 1e16) return std::to_string(static_cast<int64_t>(v.f)) + ".0";
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", v.f);
      for (int prec = 1; prec <= 17; ++prec) {  // shortest round-trip form, as Python prints
        std::snprintf(buf, sizeof(buf), "%.*g", prec, v.f);
        if (std::strtod(buf, nullptr) == v.f) break;
      }
      return buf;
    }
    case K::string: return v.s;
    case K::list:
    case K::dict: return repr(v);
  }
  return "";
}

std::string repr(const Value& v) {
  charge_steps(1);
  charge_bytes(v);
  if (v.kind == K::string) {
    const char q = v.s.find('\'') != std::string::npos && v.s.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, q);
    for (char c : v.s) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '\r') out += "\\r";
      else if (c == q) out += std::string("\\") + q;
      else out += c;
    }
    return out + q;
  }
  if (v.kind == K::list) {
    std::string out = "[";
    for (size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
    return out + "]";
  }
  if (v.kind == K::dict) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, x] : *v.dict) {
      out += (first ? "" : ", ") + repr(Value::from(k)) + ": " + repr(x);
      first = false;
    }
    return out + "}";
  }
  return str(v);
}

nlohmann::ordered_json to_json(const Value& v) {
  charge_steps(1);
  charge_bytes(v);
  switch (v.kind) {
    case K::undefined:
    case K::none: return nullptr;
    case K::boolean: return v.b;
    case K::integer: return v.i;
    case K::floating: return v.f;
    case K::string: return v.s;
    case K::list: {
      auto a = nlohmann::ordered_json::array();
      for (const auto& x : *v.list) a.push_back(to_json(x));
      return a;
    }
    case K::dict: {
      auto o = nlohmann::ordered_json::object();
      for (const auto& [k, x] : *v.dict) o[k] = to_json(x);
      return o;
    }
  }
  return nullptr;
}

// A newline and the indentation of nesting level `depth`; "" without indent.
std::string newline_pad(int64_t indent, int64_t depth) {
  if (indent < 0) return {};
  charge_bytes(indent * depth + 1);
  std::string s(static_cast<size_t>(indent * depth) + 1, ' ');
  s[0] = '\n';
  return s;
}

// Python's json.dumps(x, ensure_ascii=False) with its default ", " and ": " separators
// (transformers' tojson), or with `indent`.
std::string dumps(const nlohmann::ordered_json& j, int64_t indent, int64_t depth = 0) {
  if (j.is_object() || j.is_array()) {
    const bool obj = j.is_object();
    if (j.empty()) return obj ? "{}" : "[]";
    std::string out(1, obj ? '{' : '[');
    const std::string pad = newline_pad(indent, depth + 1);
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += indent >= 0 ? "," : ", ";
      out += pad;
      first = false;
      if (obj) out += nlohmann::ordered_json(it.key()).dump(-1, ' ', false) + ": ";
      out += dumps(*it, indent, depth + 1);
    }
    out += newline_pad(indent, depth);
    return out + (obj ? '}' : ']');
  }
  if (j.is_number_float()) return str(Value::from(j.get<double>()));
  return j.dump(-1, ' ', false);
}

int64_t as_int(const Value& v) {
  if (v.kind == K::integer) return v.i;
  if (v.kind == K::boolean) return v.b;
  if (v.kind == K::floating) {
    // The doubles that truncate to an int64: [-2^63, 2^63), NaN excluded.
    if (!(v.f >= -9223372036854775808.0 && v.f < 9223372036854775808.0))
      throw Error(str(v) + " does not fit in a 64-bit integer");
    return static_cast<int64_t>(v.f);
  }
  throw Error("expected an integer, got " + repr(v));
}

bool is_number(const Value& v) { return v.kind == K::integer || v.kind == K::floating || v.kind == K::boolean; }
double as_double(const Value& v) { return v.kind == K::floating ? v.f : static_cast<double>(as_int(v)); }

bool equal(const Value& a, const Value& b) {
  charge_steps(1);
  if (is_number(a) && is_number(b)) return as_double(a) == as_double(b);
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::undefined:
    case K::none: return true;
    case K::string: return a.s == b.s;
    case K::list:
      return std::equal(a.list->begin(), a.list->end(), b.list->begin(), b.list->end(), equal);
    case K::dict: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* o = b.find(k);
        if (!o || !equal(v, *o)) return false;
      }
      return true;
    }
    default: return false;
  }
}

List items_of(const Value& v);

// Python's `x in container`.
bool contains(const Value& container, const Value& x) {
  if (container.kind == K::string) return x.kind == K::string && container.s.find(x.s) != std::string::npos;
  if (container.kind == K::dict) return x.kind == K::string && container.find(x.s);
  for (const auto& item : items_of(container))
    if (equal(x, item)) return true;
  return false;
}

List items_of(const Value& v) {
  if (v.kind == K::list) {
    charge_steps(static_cast<int64_t>(v.list->size()));
    for (const Value& x : *v.list) charge_bytes(x);
    return *v.list;
  }
  if (v.kind == K::dict) {
    charge_steps(static_cast<int64_t>(v.dict->size()));
    List keys;
    for (const auto& [k, x] : *v.dict) keys.push_back(Value::from(k));
    return keys;
  }
  if (v.kind == K::string) {
    List chars;
    for (size_t i = 0; i < v.s.size();) {
      charge_steps(1);
      const auto c = static_cast<unsigned char>(v.s[i]);
      const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      chars.push_back(Value::from(v.s.substr(i, n)));
      i += n;
    }
    return chars;
  }
  if (v.kind == K::undefined) return {};
  throw Error(repr(v) + " is not iterable");
}

Value slice(const Value& v, const Value* a, const Value* b, const Value* c) {
  List items = items_of(v);
  const auto n = static_cast<int64_t>(items.size());
  const int64_t step_arg = c && c->kind != K::none ? as_int(*c) : 1;
  if (step_arg == 0) throw Error("slice step cannot be zero");
  // Past the length, a step takes the same one item and cannot overflow the index.
  const int64_t step = std::clamp<int64_t>(step_arg, -n - 1, n + 1);
  auto clamp = [&](const Value* x, int64_t dflt) {
    if (!x || x->kind == K::none) return dflt;
    int64_t i = as_int(*x);
    if (i < 0) i += n;
    return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t start = clamp(a, step > 0 ? 0 : n - 1), stop = clamp(b, step > 0 ? n : -1);
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
  if (v.kind != K::string) return Value::from(std::move(out));
  std::string s;
  for (const auto& x : out) s += x.s;
  return Value::from(std::move(s));
}

std::string strip_chars(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) b = s.find_first_not_of(chars);
  if (b == std::string::npos) return "";
  if (right) e = s.find_last_not_of(chars) + 1;
  return s.substr(b, e - b);
}

const std::string kWhitespace = " \t\n\r\f\v";

std::string title(const std::string& s, bool all_words) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c));
    if (alpha) c = static_cast<char>(start ? std::toupper(c) : std::tolower(c));
    if (all_words) start = !alpha;
    else start = false;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t p = 0;
  for (size_t hit; (hit = s.find(from, p)) != std::string::npos; p = hit + from.size()) {
    charge_bytes(static_cast<int64_t>(hit - p + to.size()));
    out.append(s, p, hit - p);
    out += to;
  }
  out.append(s, p);
  return out;
}

enum class Flow { normal, break_, continue_ };

class Renderer {
 public:
  explicit Renderer(const std::map<std::string, Value>& globals) { scopes_.emplace_back(globals.begin(), globals.end()); }

  Flow exec(const std::vector<std::unique_ptr<Node>>& body, std::string& out) {
    for (const auto& n : body) {
      const Flow f = exec(*n, out);
      if (f != Flow::normal) return f;
    }
    return Flow::normal;
  }

 private:
  Flow exec(const Node& n, std::string& out) {
    switch (n.kind) {
      case Node::Kind::text:
        charge_bytes(static_cast<int64_t>(n.text.size()));
        out += n.text;
        return Flow::normal;
      case Node::Kind::output: {
        const std::string s = str(eval(*n.expr));
        charge_bytes(static_cast<int64_t>(s.size()));
        out += s;
        return Flow::normal;
      }
      case Node::Kind::if_:
        for (size_t i = 0; i < n.conds.size(); ++i)
          if (truthy(eval(*n.conds[i]))) return exec(n.branches[i], out);
        return exec(n.else_body, out);
      case Node::Kind::for_: return exec_for(n, out);
      case Node::Kind::set: assign(n.targets, eval(*n.expr)); return Flow::normal;
      case Node::Kind::block_set: {
        std::string captured;
        exec(n.body, captured);
        assign(n.targets, Value::from(std::move(captured)));
        return Flow::normal;
      }
      case Node::Kind::break_: return Flow::break_;
      case Node::Kind::continue_: return Flow::continue_;
    }
    return Flow::normal;
  }

  void assign(const std::vector<std::string>& target, Value v) {
    if (target.size() == 1) {
      scopes_.back()[target[0]] = std::move(v);
      return;
    }
    Value ns = lookup(target[0]);
    if (!ns.ns) throw Error("cannot set attribute " + target[1] + " of " + target[0] + " (not a namespace)");
    if (v.ns) throw Error("cannot store namespace in " + target[0] + "." + target[1] + " (run-llm keeps namespaces out of other values)");
    for (auto& [k, x] : *ns.dict) {
      if (k == target[1]) {
        x = std::move(v);
        return;
      }
    }
    ns.dict->emplace_back(target[1], std::move(v));
  }

  Flow exec_for(const Node& n, std::string& out) {
    const Value seq = eval(*n.expr);
    List items;
    for (Value& item : items_of(seq)) {
      if (seq.kind == K::dict && n.targets.size() == 2) item = Value::from(List{item, *seq.find(item.s)});
      if (n.filter) {
        scopes_.emplace_back();
        bind(n.targets, item);
        const bool keep = truthy(eval(*n.filter));
        scopes_.pop_back();
        if (!keep) continue;
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) return exec(n.else_body, out);
    const auto len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      charge_steps(1);
      charge_bytes(items[static_cast<size_t>(i)]);
      scopes_.emplace_back();
      bind(n.targets, items[static_cast<size_t>(i)]);
      Dict loop{{"index", Value::from(i + 1)},           {"index0", Value::from(i)},
                {"revindex", Value::from(len - i)},      {"revindex0", Value::from(len - i - 1)},
                {"first", Value::from(i == 0)},          {"last", Value::from(i == len - 1)},
                {"length", Value::from(len)},
                {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value()},
                {"nextitem", i + 1 < len ? items[static_cast<size_t>(i + 1)] : Value()}};
      scopes_.back()["loop"] = Value::from(std::move(loop));
      const Flow f = exec(n.body, out);
      scopes_.pop_back();
      if (f == Flow::break_) break;
    }
    return Flow::normal;
  }

  void bind(const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      scopes_.back()[targets[0]] = item;
      return;
    }
    const List parts = items_of(item);
    if (parts.size() != targets.size()) throw Error("cannot unpack " + repr(item) + " into " + std::to_string(targets.size()) + " names");
    for (size_t k = 0; k < targets.size(); ++k) scopes_.back()[targets[k]] = parts[k];
  }

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value();
  }

  Value eval(const Expr& e);
  Value eval_node(const Expr& e);
  Value call(const Expr& e);
  Value method(const Value& obj, const std::string& name, const std::vector<Value>& args);
  Value filter(const Expr& e);
  bool test(const Expr& e);
  Value binary(const Expr& e);

  std::vector<std::unordered_map<std::string, Value>> scopes_;
};

// Every evaluation is charged and its result checked against the limits.
Value Renderer::eval(const Expr& e) {
  charge_steps(1);
  Value v = eval_node(e);
  charge_bytes(v);
  if (v.depth > kMaxValueDepth)
    throw Error("a list or dict nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  return v;
}

// A namespace stays out of containers (see Value::ns).
const Value& element(const Value& v) {
  if (v.ns) throw Error("cannot store a namespace in a list or dict (run-llm keeps namespaces out of other values)");
  return v;
}

Value Renderer::eval_node(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::literal: return e.value;
    case Expr::Kind::name: return lookup(e.name);
    case Expr::Kind::attr: {
      const Value obj = eval(*e.args[0]);
      if (obj.kind == K::undefined) throw Error("'" + e.name + "' of an undefined value");
      const Value* v = obj.find(e.name);
      return v ? *v : Value();
    }
    case Expr::Kind::item: {
      const Value obj = eval(*e.args[0]);
      const Value key = eval(*e.args[1]);
      if (obj.kind == K::undefined) throw Error("subscript of an undefined value");
      if (obj.kind == K::dict) {
        const Value* v = key.kind == K::string ? obj.find(key.s) : nullptr;
        return v ? *v : Value();
      }
      const List items = items_of(obj);
      int64_t i = as_int(key);
      if (i < 0) i += static_cast<int64_t>(items.size());
      if (i < 0 || i >= static_cast<int64_t>(items.size())) return Value();
      return items[static_cast<size_t>(i)];
    }
    case Expr::Kind::slice: {
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (e.args[static_cast<size_t>(k + 1)]) parts[k] = eval(*e.args[static_cast<size_t>(k + 1)]);
      auto p = [&](int k) { return e.args[static_cast<size_t>(k + 1)] ? &parts[k] : nullptr; };
      return slice(eval(*e.args[0]), p(0), p(1), p(2));
    }
    case Expr::Kind::call: return call(e);
    case Expr::Kind::filter: return filter(e);
    case Expr::Kind::test: return Value::from(test(e));
    case Expr::Kind::unary: {
      const Value v = eval(*e.args[0]);
      if (e.name == "not") return Value::from(!truthy(v));
      if (e.name == "-") {
        if (v.kind == K::floating) return Value::from(-v.f);
        const int64_t x = as_int(v);
        if (x == INT64_MIN) overflow("-");
        return Value::from(-x);
      }
      return v;
    }
    case Expr::Kind::binary: return binary(e);
    case Expr::Kind::cond:
      if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
      return e.args.size() > 2 ? eval(*e.args[2]) : Value();
    case Expr::Kind::list: {
      List l;
      for (const auto& a : e.args) l.push_back(element(eval(*a)));
      return Value::from(std::move(l));
    }
    case Expr::Kind::dict: {
      Dict d;
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.emplace_back(str(eval(*e.args[k])), element(eval(*e.args[k + 1])));
      return Value::from(std::move(d));
    }
  }
  return Value();
}

Value Renderer::binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.args[0]);
    return truthy(l) ? eval(*e.args[1]) : l;
  }
  if (op == "or") {
    Value l = eval(*e.args[0]);
    return truthy(l) ? l : eval(*e.args[1]);
  }
  const Value l = eval(*e.args[0]), r = eval(*e.args[1]);
  if (op == "==") return Value::from(equal(l, r));
  if (op == "!=") return Value::from(!equal(l, r));
  if (op == "in" || op == "not in") {
    const bool found = contains(r, l);
    return Value::from(op == "in" ? found : !found);
  }
  if (op == "~") return Value::from(str(l) + str(r));
  if (op == "+" && l.kind == K::string && r.kind == K::string) return Value::from(l.s + r.s);
  if (op == "+" && l.kind == K::list && r.kind == K::list) {
    charge_steps(static_cast<int64_t>(l.list->size() + r.list->size()));
    List out = *l.list;
    out.insert(out.end(), r.list->begin(), r.list->end());
    return Value::from(std::move(out));
  }
  if (op == "*" && l.kind == K::string && r.kind == K::integer) {
    std::string out;
    if (r.i > 0 && !l.s.empty()) {
      if (r.i > kMaxBytes / static_cast<int64_t>(l.s.size())) charge_bytes(kMaxBytes + 1);
      charge_bytes(r.i * static_cast<int64_t>(l.s.size()));
    }
    for (int64_t k = 0; k < r.i; ++k) out += l.s;
    return Value::from(std::move(out));
  }
  if (l.kind == K::string && r.kind == K::string && (op == "<" || op == ">" || op == "<=" || op == ">=")) {
    const int c = l.s.compare(r.s);
    return Value::from(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
  }
  if (!is_number(l) || !is_number(r)) throw Error("unsupported operands for " + op + ": " + repr(l) + ", " + repr(r));
  const bool ints = l.kind != K::floating && r.kind != K::floating;
  const double a = as_double(l), b = as_double(r);
  if (op == "<") return Value::from(a < b);
  if (op == ">") return Value::from(a > b);
  if (op == "<=") return Value::from(a <= b);
  if (op == ">=") return Value::from(a >= b);
  if (op == "/") {
    if (b == 0) throw Error("division by zero");
    return Value::from(a / b);
  }
  if ((op == "//" || op == "%") && b == 0) throw Error("division by zero");
  if (ints) {
    const int64_t x = as_int(l), y = as_int(r);
    int64_t z;
    const bool wraps = op == "+" ? __builtin_add_overflow(x, y, &z)
                       : op == "-" ? __builtin_sub_overflow(x, y, &z)
                       : op == "*" ? __builtin_mul_overflow(x, y, &z)
                                   : (op == "//" && x == INT64_MIN && y == -1);
    if (wraps) overflow(op);
    if (op == "+" || op == "-" || op == "*") return Value::from(z);
    if (op == "//" || op == "%") {  // Python rounds the quotient down; the remainder takes y's sign
      if (y == -1) return Value::from(op == "%" ? int64_t{0} : -x);
      int64_t q = x / y, m = x % y;
      if (m != 0 && (m < 0) != (y < 0)) --q, m += y;
      return Value::from(op == "//" ? q : m);
    }
    if (op == "**" && y >= 0) {
      int64_t p = 1, base = x;
      for (int64_t e = y; e > 0; e >>= 1) {
        if ((e & 1) && __builtin_mul_overflow(p, base, &p)) overflow(op);
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) overflow(op);
      }
      return Value::from(p);
    }
  }
  if (op == "+") return Value::from(a + b);
  if (op == "-") return Value::from(a - b);
  if (op == "*") return Value::from(a * b);
  if (op == "//") return Value::from(std::floor(a / b));
  if (op == "%") return Value::from(a - b * std::floor(a / b));
  if (op == "**") return Value::from(std::pow(a, b));
  throw Error("unsupported operator " + op);
}

Value Renderer::call(const Expr& e) {
  const Expr& callee = *e.args[0];
  std::vector<Value> args;
  for (size_t k = 1; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
  if (callee.kind == Expr::Kind::attr) return method(eval(*callee.args[0]), callee.name, args);
  if (callee.kind != Expr::Kind::name) throw Error("only named functions and methods can be called");
  const std::string& fn = callee.name;
  if (fn == "raise_exception") throw Error(args.empty() ? "raise_exception" : str(args[0]));
  if (fn == "namespace" || fn == "dict") {
    Dict d;
    for (const auto& [k, v] : e.kwargs) d.emplace_back(k, element(eval(*v)));
    Value made = Value::from(std::move(d));
    made.ns = fn == "namespace";
    return made;
  }
  if (fn == "range") {
    int64_t start = 0, stop = 0, step = 1;
    if (args.size() == 1) stop = as_int(args[0]);
    if (args.size() >= 2) start = as_int(args[0]), stop = as_int(args[1]);
    if (args.size() >= 3) step = as_int(args[2]);
    if (step == 0) throw Error("range() step cannot be zero");
    const __int128 span = step > 0 ? __int128{stop} - start : __int128{start} - stop;
    const __int128 step_size = step > 0 ? __int128{step} : -__int128{step};
    const __int128 count = span <= 0 ? 0 : (span + step_size - 1) / step_size;
    if (count > kMaxRange) {
      throw Error("range() of " + std::to_string(static_cast<int64_t>(count)) + " items is over the limit of " +
                  std::to_string(kMaxRange) + " (Jinja's sandbox, which transformers renders with, has the same)");
    }
    charge_steps(static_cast<int64_t>(count));
    List out;
    for (int64_t k = 0; k < static_cast<int64_t>(count); ++k) out.push_back(Value::from(start + k * step));
    return Value::from(std::move(out));
  }
  if (fn == "strftime_now") {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[128];
    const size_t n = std::strftime(buf, sizeof(buf), args.empty() ? "" : str(args[0]).c_str(), &tm);
    return Value::from(std::string(buf, n));
  }
  throw Error("unknown function " + fn + "()");
}

Value Renderer::method(const Value& obj, const std::string& name, const std::vector<Value>& args) {
  auto arg = [&](size_t k) { return k < args.size() ? str(args[k]) : std::string(); };
  if (obj.kind == K::string) {
    const std::string& s = obj.s;
    const std::string chars = args.empty() || args[0].kind == K::none ? kWhitespace : arg(0);
    if (name == "strip") return Value::from(strip_chars(s, chars, true, true));
    if (name == "lstrip") return Value::from(strip_chars(s, chars, true, false));
    if (name == "rstrip") return Value::from(strip_chars(s, chars, false, true));
    if (name == "upper") return Value::from(upper(s));
    if (name == "lower") return Value::from(lower(s));
    if (name == "title") return Value::from(title(s, true));
    if (name == "capitalize") return Value::from(title(lower(s), false));
    if (name == "startswith") return Value::from(s.starts_with(arg(0)));
    if (name == "endswith") return Value::from(s.ends_with(arg(0)));
    if (name == "replace") return Value::from(replace_all(s, arg(0), arg(1)));
    if (name == "split") {
      List out;
      if (args.empty() || args[0].kind == K::none) {
        size_t p = 0;
        while ((p = s.find_first_not_of(kWhitespace, p)) != std::string::npos) {
          const size_t e = s.find_first_of(kWhitespace, p);
          charge_steps(1);
          out.push_back(Value::from(s.substr(p, e - p)));
          p = e;
        }
      } else {
        const std::string sep = arg(0);
        if (sep.empty()) throw Error("empty separator");
        size_t p = 0;
        for (size_t e; (e = s.find(sep, p)) != std::string::npos; p = e + sep.size()) {
          charge_steps(1);
          out.push_back(Value::from(s.substr(p, e - p)));
        }
        out.push_back(Value::from(s.substr(p)));
      }
      return Value::from(std::move(out));
    }
  }
  if (obj.kind == K::dict) {
    if (name == "items" || name == "keys" || name == "values") {
      List out;
      for (const auto& [k, v] : *obj.dict) {
        if (name == "items") out.push_back(Value::from(List{Value::from(k), v}));
        else out.push_back(name == "keys" ? Value::from(k) : v);
      }
      return Value::from(std::move(out));
    }
    if (name == "get") {
      const Value* v = obj.find(arg(0));
      return v ? *v : (args.size() > 1 ? args[1] : Value::none());
    }
  }
  throw Error("unsupported method " + name + "() on " + repr(obj));
}

Value Renderer::filter(const Expr& e) {
  const Value v = eval(*e.args[0]);
  std::vector<Value> args;
  for (size_t k = 1; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
  auto kwarg = [&](const char* key) -> const Expr* {
    for (const auto& [k, x] : e.kwargs)
      if (k == key) return x.get();
    return nullptr;
  };
  const std::string& f = e.name;
  auto need = [&](size_t n) {
    if (args.size() < n) throw Error("|" + f + " needs " + std::to_string(n) + " argument(s)");
  };
  if (f == "trim") return Value::from(strip_chars(str(v), args.empty() ? kWhitespace : str(args[0]), true, true));
  if (f == "upper") return Value::from(upper(str(v)));
  if (f == "lower") return Value::from(lower(str(v)));
  if (f == "title") return Value::from(title(str(v), true));
  if (f == "capitalize") return Value::from(title(lower(str(v)), false));
  if (f == "string") return Value::from(str(v));
  if (f == "safe" || f == "e" || f == "escape") return v;
  if (f == "length" || f == "count") {
    if (v.kind == K::dict) return Value::from(static_cast<int64_t>(v.dict->size()));
    if (v.kind == K::list) return Value::from(static_cast<int64_t>(v.list->size()));
    return Value::from(static_cast<int64_t>(items_of(v).size()));
  }
  if (f == "first" || f == "last") {
    const List items = items_of(v);
    if (items.empty()) return Value();
    return f == "first" ? items.front() : items.back();
  }
  if (f == "list") return Value::from(items_of(v));
  if (f == "reverse") {
    if (v.kind == K::string) return Value::from(std::string(v.s.rbegin(), v.s.rend()));
    List items = items_of(v);
    std::reverse(items.begin(), items.end());
    return Value::from(std::move(items));
  }
  if (f == "join") {
    std::string out;
    const std::string sep = args.empty() ? "" : str(args[0]);
    bool first = true;
    for (const auto& x : items_of(v)) {
      const std::string piece = str(x);
      charge_bytes(static_cast<int64_t>((first ? 0 : sep.size()) + piece.size()));
      out += (first ? "" : sep) + piece;
      first = false;
    }
    return Value::from(std::move(out));
  }
  if (f == "default" || f == "d") {
    const bool boolean = args.size() > 1 && truthy(args[1]);
    if (v.kind == K::undefined || (boolean && !truthy(v))) return args.empty() ? Value::from(std::string()) : args[0];
    return v;
  }
  if (f == "replace") {
    need(2);
    return Value::from(replace_all(str(v), str(args[0]), str(args[1])));
  }
  if (f == "int") return Value::from(v.kind == K::string ? static_cast<int64_t>(std::strtoll(v.s.c_str(), nullptr, 10)) : as_int(v));
  if (f == "float") return Value::from(v.kind == K::string ? std::atof(v.s.c_str()) : as_double(v));
  if (f == "abs") {
    if (v.kind == K::floating) return Value::from(std::fabs(v.f));
    const int64_t x = as_int(v);
    if (x == INT64_MIN) overflow("|abs");
    return Value::from(x < 0 ? -x : x);
  }
  if (f == "items") return method(v, "items", {});
  if (f == "tojson") {
    int64_t indent = -1;
    if (!args.empty()) indent = as_int(args[0]);
    if (const Expr* k = kwarg("indent")) indent = as_int(eval(*k));
    if (indent > kMaxBytes) charge_bytes(kMaxBytes + 1);
    return Value::from(dumps(to_json(v), indent));
  }
  if (f == "indent") {
    const int64_t width = std::max<int64_t>(args.empty() ? 4 : as_int(args[0]), 0);  // Python: " " * -1 == ""
    charge_bytes(width);
    const std::string pad(static_cast<size_t>(width), ' ');
    return Value::from(replace_all(str(v), "\n", "\n" + pad));
  }
  if (f == "map") {
    List out;
    const Expr* attr = kwarg("attribute");
    for (const auto& x : items_of(v)) {
      if (attr) {
        const Value* a = x.find(str(eval(*attr)));
        out.push_back(a ? *a : Value());
      } else if (!args.empty() && str(args[0]) == "string") {
        out.push_back(Value::from(str(x)));
      } else {
        throw Error("map() supports attribute= and 'string' only");
      }
    }
    return Value::from(std::move(out));
  }
  if (f == "selectattr" || f == "rejectattr") {
    need(1);
    List out;
    for (const auto& x : items_of(v)) {
      const Value* a = x.find(str(args[0]));
      const Value attr = a ? *a : Value();
      bool hit;
      if (args.size() == 1) hit = truthy(attr);
      else {
        const std::string t = str(args[1]);
        if (t == "equalto" || t == "eq" || t == "==") hit = args.size() > 2 && equal(attr, args[2]);
        else if (t == "defined") hit = attr.kind != K::undefined;
        else if (t == "undefined") hit = attr.kind == K::undefined;
        else if (t == "none") hit = attr.kind == K::none;
        else throw Error(f + " test '" + t + "' is not supported");
      }
      if (hit == (f == "selectattr")) out.push_back(x);
    }
    return Value::from(std::move(out));
  }
  throw Error("unsupported filter |" + f);
}

bool Renderer::test(const Expr& e) {
  const Value v = eval(*e.args[0]);
  const std::string& t = e.name;
  bool r;
  if (t == "defined") r = v.kind != K::undefined;
  else if (t == "undefined") r = v.kind == K::undefined;
  else if (t == "none") r = v.kind == K::none;
  else if (t == "string") r = v.kind == K::string;
  else if (t == "number") r = v.kind == K::integer || v.kind == K::floating;
  else if (t == "integer") r = v.kind == K::integer;
  else if (t == "float") r = v.kind == K::floating;
  else if (t == "boolean") r = v.kind == K::boolean;
  else if (t == "true") r = v.kind == K::boolean && v.b;
  else if (t == "false") r = v.kind == K::boolean && !v.b;
  else if (t == "mapping") r = v.kind == K::dict;
  else if (t == "sequence" || t == "iterable") r = v.kind == K::list || v.kind == K::string || v.kind == K::dict;
  else if (t == "odd" || t == "even") r = (as_int(v) % 2 != 0) == (t == "odd");
  else if (t == "equalto" || t == "eq" || t == "sameas") r = e.args.size() > 1 && equal(v, eval(*e.args[1]));
  else if (t == "in") r = e.args.size() > 1 && contains(eval(*e.args[1]), v);
  else throw Error("unsupported test 'is " + t + "'");
  return e.negated ? !r : r;
}

}  // namespace

Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::parse(std::string_view source) {
  Template t;
  try {
    t.body_ = parse_template(source);
  } catch (const Error& e) {
    return Status::error(std::string("chat template: ") + e.what());
  } catch (const std::exception& e) {
    return Status::error(std::string("chat template: malformed: ") + e.what());
  }
  return t;
}

Result<std::string> Template::render(const std::map<std::string, Value>& globals) const {
  std::string out;
  t_budget = Budget{};
  try {
    Renderer r(globals);
    r.exec(body_, out);
  } catch (const Error& e) {
    return Status::error(std::string("chat template: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::error("chat template: out of memory while rendering");
  } catch (const std::exception& e) {  // nlohmann's dump of a string that is not UTF-8
    return Status::error(std::string("chat template: ") + e.what());
  }
  return out;
}

}  // namespace rllm::jinja
