// Jinja subset: lexing with transformers' whitespace settings (trim_blocks,
// lstrip_blocks, "-" markers) and a recursive-descent parser with Jinja's precedence.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "engine/tokenizer/jinja_ast.h"

namespace rllm::jinja {

namespace {

struct Segment {
  enum class Kind { text, expr, stmt } kind;
  std::string text;  // raw text, or the tag's inside
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<Segment> lex(std::string_view src) {
  std::vector<Segment> out;
  bool strip_next = false;  // "-" closed the previous tag
  bool trim_newline = false;  // the previous tag was a block or comment (trim_blocks)
  size_t pos = 0;
  auto push_text = [&](std::string text, bool strip_end, bool lstrip_block) {
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && is_space(text[k])) ++k;
      text.erase(0, k);
    } else if (trim_newline) {
      if (text.starts_with("\r\n")) text.erase(0, 2);
      else if (text.starts_with("\n")) text.erase(0, 1);
    }
    if (strip_end) {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (lstrip_block) {
      size_t k = text.size();
      while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
      if (k == 0 || text[k - 1] == '\n') text.resize(k);
    }
    if (!text.empty()) out.push_back({Segment::Kind::text, std::move(text)});
  };
  while (pos <= src.size()) {
    const size_t open = src.find('{', pos);
    size_t tag = std::string_view::npos;
    for (size_t p = open; p != std::string_view::npos && p + 1 < src.size(); p = src.find('{', p + 1)) {
      if (src[p + 1] == '{' || src[p + 1] == '%' || src[p + 1] == '#') {
        tag = p;
        break;
      }
    }
    if (tag == std::string_view::npos) {
      push_text(std::string(src.substr(pos)), false, false);
      break;
    }
    const char type = src[tag + 1];
    const bool minus = tag + 2 < src.size() && src[tag + 2] == '-';
    const bool plus = tag + 2 < src.size() && src[tag + 2] == '+';
    push_text(std::string(src.substr(pos, tag - pos)), minus, type != '{' && !plus);
    const std::string_view close = type == '{' ? "}}" : type == '%' ? "%}" : "#}";
    const size_t body = tag + 2 + (minus || plus ? 1 : 0);
    size_t end = body;
    // Find the closing marker outside string literals.
    char quote = 0;
    for (; end + 1 < src.size(); ++end) {
      const char c = src[end];
      if (quote) {
        if (c == '\\') ++end;
        else if (c == quote) quote = 0;
      } else if (type != '#' && (c == '\'' || c == '"')) {
        quote = c;
      } else if (src.substr(end, 2) == close) {
        break;
      }
    }
    if (end + 1 >= src.size()) throw Error("unclosed tag at offset " + std::to_string(tag));
    const bool close_minus = end > body && src[end - 1] == '-';
    std::string inner(src.substr(body, end - body - (close_minus ? 1 : 0)));
    if (type == '{') out.push_back({Segment::Kind::expr, std::move(inner)});
    else if (type == '%') out.push_back({Segment::Kind::stmt, std::move(inner)});
    strip_next = close_minus;
    trim_newline = type != '{';
    pos = end + 2;
  }
  return out;
}

// Counts one level of nesting for as long as it lives; past kMaxNesting, an error.
class Nest {
 public:
  Nest(int& depth, const char* what) : depth_(depth) {
    if (++depth_ > kMaxNesting)
      throw Error(std::string(what) + " nested deeper than " + std::to_string(kMaxNesting) + " levels");
  }
  ~Nest() { --depth_; }
  Nest(const Nest&) = delete;
  Nest& operator=(const Nest&) = delete;

 private:
  int& depth_;
};

// Sets e's depth from its operands; past kMaxExprDepth, an error.
ExprPtr sized(ExprPtr e) {
  for (const auto& a : e->args)
    if (a) e->depth = std::max(e->depth, a->depth + 1);
  for (const auto& [k, a] : e->kwargs) e->depth = std::max(e->depth, a->depth + 1);
  if (e->depth > kMaxExprDepth)
    throw Error("expression more than " + std::to_string(kMaxExprDepth) + " operations deep");
  return e;
}

struct Tok {
  enum class T { name, str, integer, floating, op, end } t = T::end;
  std::string s;
  int64_t i = 0;
  double f = 0;
};

std::vector<Tok> tokenize(const std::string& src) {
  std::vector<Tok> out;
  size_t p = 0;
  while (p < src.size()) {
    const char c = src[p];
    if (is_space(c)) {
      ++p;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = p;
      while (e < src.size() && (std::isalnum(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
      out.push_back({Tok::T::name, src.substr(p, e - p)});
      p = e;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t e = p;
      while (e < src.size() && std::isdigit(static_cast<unsigned char>(src[e]))) ++e;
      if (e + 1 < src.size() && src[e] == '.' && std::isdigit(static_cast<unsigned char>(src[e + 1]))) {
        ++e;
        while (e < src.size() && std::isdigit(static_cast<unsigned char>(src[e]))) ++e;
        Tok t{Tok::T::floating, src.substr(p, e - p)};
        t.f = std::strtod(t.s.c_str(), nullptr);
        out.push_back(t);
      } else {
        Tok t{Tok::T::integer, src.substr(p, e - p)};
        errno = 0;
        t.i = std::strtoll(t.s.c_str(), nullptr, 10);
        if (errno == ERANGE) throw Error("integer literal " + t.s + " does not fit in 64 bits");
        out.push_back(t);
      }
      p = e;
    } else if (c == '\'' || c == '"') {
      std::string s;
      size_t e = p + 1;
      for (; e < src.size() && src[e] != c; ++e) {
        if (src[e] == '\\' && e + 1 < src.size()) {
          const char n = src[++e];
          s += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
        } else {
          s += src[e];
        }
      }
      if (e >= src.size()) throw Error("unterminated string literal");
      out.push_back({Tok::T::str, std::move(s)});
      p = e + 1;
    } else {
      static const char* ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
                                  "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"};
      bool found = false;
      for (const char* op : ops) {
        const size_t n = std::char_traits<char>::length(op);
        if (src.compare(p, n, op) == 0) {
          out.push_back({Tok::T::op, op});
          p += n;
          found = true;
          break;
        }
      }
      if (!found) throw Error(std::string("unexpected character '") + c + "' in tag");
    }
  }
  out.push_back({Tok::T::end, ""});
  return out;
}

class ExprParser {
 public:
  explicit ExprParser(const std::string& src) : toks_(tokenize(src)) {}

  ExprPtr expression() {
    const Nest nest(depth_, "expression");
    ExprPtr e = or_expr();
    if (is_name("if")) {
      ++p_;
      auto c = std::make_unique<Expr>(Expr::Kind::cond);
      c->args.push_back(or_expr());  // condition
      c->args.push_back(std::move(e));  // value when true
      if (is_name("else")) {
        ++p_;
        c->args.push_back(expression());
      }
      return sized(std::move(c));
    }
    return e;
  }

  bool is_name(const char* n) const { return toks_[p_].t == Tok::T::name && toks_[p_].s == n; }
  bool is_op(const char* o) const { return toks_[p_].t == Tok::T::op && toks_[p_].s == o; }
  bool at_end() const { return toks_[p_].t == Tok::T::end; }
  void expect_op(const char* o) {
    if (!is_op(o)) throw Error(std::string("expected '") + o + "' but found '" + toks_[p_].s + "'");
    ++p_;
  }
  std::string name() {
    if (toks_[p_].t != Tok::T::name) throw Error("expected a name but found '" + toks_[p_].s + "'");
    return toks_[p_++].s;
  }
  void expect_end() {
    if (!at_end()) throw Error("unexpected '" + toks_[p_].s + "' in tag");
  }

 private:
  static ExprPtr binary(std::string op, ExprPtr l, ExprPtr r) {
    auto e = std::make_unique<Expr>(Expr::Kind::binary);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return sized(std::move(e));
  }

  ExprPtr or_expr() {
    ExprPtr l = and_expr();
    while (is_name("or")) {
      ++p_;
      l = binary("or", std::move(l), and_expr());
    }
    return l;
  }
  ExprPtr and_expr() {
    ExprPtr l = not_expr();
    while (is_name("and")) {
      ++p_;
      l = binary("and", std::move(l), not_expr());
    }
    return l;
  }
  ExprPtr not_expr() {
    if (is_name("not")) {
      const Nest nest(depth_, "expression");
      ++p_;
      auto e = std::make_unique<Expr>(Expr::Kind::unary);
      e->name = "not";
      e->args.push_back(not_expr());
      return sized(std::move(e));
    }
    return compare();
  }
  ExprPtr compare() {
    ExprPtr l = math1();
    for (;;) {
      std::string op;
      if (is_op("==") || is_op("!=") || is_op("<") || is_op(">") || is_op("<=") || is_op(">=")) {
        op = toks_[p_++].s;
      } else if (is_name("in")) {
        ++p_;
        op = "in";
      } else if (is_name("not") && toks_[p_ + 1].t == Tok::T::name && toks_[p_ + 1].s == "in") {
        p_ += 2;
        op = "not in";
      } else {
        return l;
      }
      l = binary(op, std::move(l), math1());
    }
  }
  ExprPtr math1() {
    ExprPtr l = concat();
    while (is_op("+") || is_op("-")) {
      std::string op = toks_[p_++].s;
      l = binary(op, std::move(l), concat());
    }
    return l;
  }
  ExprPtr concat() {
    ExprPtr l = math2();
    while (is_op("~")) {
      ++p_;
      l = binary("~", std::move(l), math2());
    }
    return l;
  }
  ExprPtr math2() {
    ExprPtr l = power();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = toks_[p_++].s;
      l = binary(op, std::move(l), power());
    }
    return l;
  }
  ExprPtr power() {
    ExprPtr l = unary();
    while (is_op("**")) {
      ++p_;
      l = binary("**", std::move(l), unary());
    }
    return l;
  }
  ExprPtr unary() {
    if (is_op("-") || is_op("+")) {
      const Nest nest(depth_, "expression");
      auto e = std::make_unique<Expr>(Expr::Kind::unary);
      e->name = toks_[p_++].s;
      e->args.push_back(unary());
      return sized(std::move(e));
    }
    return filters(postfix(primary()));
  }

  void call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (toks_[p_].t == Tok::T::name && toks_[p_ + 1].t == Tok::T::op && toks_[p_ + 1].s == "=") {
        std::string key = toks_[p_].s;
        p_ += 2;
        e.kwargs.emplace_back(std::move(key), expression());
      } else {
        e.args.push_back(expression());
      }
      if (!is_op(")")) expect_op(",");
    }
    ++p_;
  }

  ExprPtr filters(ExprPtr e) {
    for (;;) {
      if (is_op("|")) {
        ++p_;
        auto f = std::make_unique<Expr>(Expr::Kind::filter);
        f->name = name();
        f->args.push_back(std::move(e));
        if (is_op("(")) call_args(*f);
        e = sized(std::move(f));
      } else if (is_name("is")) {
        ++p_;
        auto t = std::make_unique<Expr>(Expr::Kind::test);
        if (is_name("not")) {
          ++p_;
          t->negated = true;
        }
        t->name = name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          call_args(*t);
        } else if (toks_[p_].t == Tok::T::str || toks_[p_].t == Tok::T::integer || toks_[p_].t == Tok::T::floating ||
                   (toks_[p_].t == Tok::T::name && !is_name("and") && !is_name("or") && !is_name("else") &&
                    !is_name("if") && !is_name("is"))) {
          t->args.push_back(primary());  // "is equalto 'x'", "is sameas false"
        }
        e = sized(std::move(t));
      } else {
        return e;
      }
    }
  }

  ExprPtr postfix(ExprPtr e) {
    for (;;) {
      if (is_op(".")) {
        ++p_;
        auto a = std::make_unique<Expr>(Expr::Kind::attr);
        a->name = name();
        a->args.push_back(std::move(e));
        e = sized(std::move(a));
      } else if (is_op("[")) {
        ++p_;
        ExprPtr idx[3];
        bool slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!is_op(":") && !is_op("]")) idx[k] = expression();
          if (is_op(":") && k < 2) {
            ++p_;
            slice = true;
          } else {
            break;
          }
        }
        expect_op("]");
        if (!slice && !idx[0]) throw Error("empty subscript []");
        auto s = std::make_unique<Expr>(slice ? Expr::Kind::slice : Expr::Kind::item);
        s->args.push_back(std::move(e));
        for (auto& x : idx) s->args.push_back(std::move(x));
        e = sized(std::move(s));
      } else if (is_op("(")) {
        auto c = std::make_unique<Expr>(Expr::Kind::call);
        c->args.push_back(std::move(e));
        call_args(*c);
        e = sized(std::move(c));
      } else {
        return e;
      }
    }
  }

  ExprPtr primary() {
    const Tok& t = toks_[p_];
    auto lit = [&](Value v) {
      ++p_;
      auto e = std::make_unique<Expr>(Expr::Kind::literal);
      e->value = std::move(v);
      return e;
    };
    switch (t.t) {
      case Tok::T::str: {
        std::string s = t.s;
        ++p_;
        while (toks_[p_].t == Tok::T::str) s += toks_[p_++].s;  // adjacent literals concatenate
        auto e = std::make_unique<Expr>(Expr::Kind::literal);
        e->value = Value::from(std::move(s));
        return e;
      }
      case Tok::T::integer: return lit(Value::from(t.i));
      case Tok::T::floating: return lit(Value::from(t.f));
      case Tok::T::name: {
        if (t.s == "true" || t.s == "True") return lit(Value::from(true));
        if (t.s == "false" || t.s == "False") return lit(Value::from(false));
        if (t.s == "none" || t.s == "None") return lit(Value::none());
        auto e = std::make_unique<Expr>(Expr::Kind::name);
        e->name = t.s;
        ++p_;
        return e;
      }
      case Tok::T::op:
        if (t.s == "(") {
          ++p_;
          ExprPtr e = expression();
          if (is_op(",")) {  // tuple: treated as a list
            auto l = std::make_unique<Expr>(Expr::Kind::list);
            l->args.push_back(std::move(e));
            while (is_op(",")) {
              ++p_;
              if (is_op(")")) break;
              l->args.push_back(expression());
            }
            e = sized(std::move(l));
          }
          expect_op(")");
          return e;
        }
        if (t.s == "[") {
          ++p_;
          auto l = std::make_unique<Expr>(Expr::Kind::list);
          while (!is_op("]")) {
            l->args.push_back(expression());
            if (!is_op("]")) expect_op(",");
          }
          ++p_;
          return sized(std::move(l));
        }
        if (t.s == "{") {
          ++p_;
          auto d = std::make_unique<Expr>(Expr::Kind::dict);
          while (!is_op("}")) {
            d->args.push_back(expression());
            expect_op(":");
            d->args.push_back(expression());
            if (!is_op("}")) expect_op(",");
          }
          ++p_;
          return sized(std::move(d));
        }
        break;
      case Tok::T::end: break;
    }
    throw Error("unexpected '" + t.s + "' in expression");
  }

  std::vector<Tok> toks_;
  size_t p_ = 0;
  int depth_ = 0;
};

using Body = std::vector<std::unique_ptr<Node>>;

class StmtParser {
 public:
  explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  Body parse_all() {
    std::string end;
    Body b = body({}, end);
    if (!end.empty()) throw Error("unexpected {% " + end + " %}");
    return b;
  }

 private:
  static std::string keyword(const std::string& tag) {
    size_t b = 0;
    while (b < tag.size() && is_space(tag[b])) ++b;
    size_t e = b;
    while (e < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[e])) || tag[e] == '_')) ++e;
    return tag.substr(b, e - b);
  }

  // Parses nodes until a statement whose keyword is in `ends`; its keyword is returned
  // in `end` and its expression parser left positioned after the keyword.
  Body body(const std::vector<std::string>& ends, std::string& end) {
    const Nest nest(depth_, "blocks");
    Body out;
    while (i_ < segs_.size()) {
      Segment& s = segs_[i_++];
      if (s.kind == Segment::Kind::text) {
        auto n = std::make_unique<Node>(Node::Kind::text);
        n->text = std::move(s.text);
        out.push_back(std::move(n));
        continue;
      }
      if (s.kind == Segment::Kind::expr) {
        ExprParser p(s.text);
        auto n = std::make_unique<Node>(Node::Kind::output);
        n->expr = p.expression();
        p.expect_end();
        out.push_back(std::move(n));
        continue;
      }
      const std::string kw = keyword(s.text);
      for (const std::string& e : ends) {
        if (kw == e) {
          end = kw;
          current_ = s.text;
          return out;
        }
      }
      out.push_back(statement(kw, s.text));
    }
    if (!ends.empty()) throw Error("missing {% " + ends.back() + " %}");
    end.clear();
    return out;
  }

  std::unique_ptr<Node> statement(const std::string& kw, const std::string& tag) {
    ExprParser p(tag);
    p.name();
    std::string end;
    if (kw == "if") {
      auto n = std::make_unique<Node>(Node::Kind::if_);
      n->conds.push_back(p.expression());
      p.expect_end();
      for (;;) {
        n->branches.push_back(body({"elif", "else", "endif"}, end));
        if (end == "elif") {
          ExprParser q(current_);
          q.name();
          n->conds.push_back(q.expression());
          q.expect_end();
        } else if (end == "else") {
          n->else_body = body({"endif"}, end);
          return n;
        } else {
          return n;
        }
      }
    }
    if (kw == "for") {
      auto n = std::make_unique<Node>(Node::Kind::for_);
      n->targets.push_back(p.name());
      while (p.is_op(",")) {
        p.expect_op(",");
        n->targets.push_back(p.name());
      }
      if (!p.is_name("in")) throw Error("expected 'in' in for loop");
      p.name();
      // The iterable is an or-expression so that a trailing "if" filters the loop.
      n->expr = p.expression();
      if (n->expr->kind == Expr::Kind::cond && n->expr->args.size() == 2) {
        n->filter = std::move(n->expr->args[0]);
        n->expr = std::move(n->expr->args[1]);
      }
      p.expect_end();
      n->body = body({"else", "endfor"}, end);
      if (end == "else") n->else_body = body({"endfor"}, end);
      return n;
    }
    if (kw == "set") {
      std::vector<std::string> target{p.name()};
      if (p.is_op(".")) {
        p.expect_op(".");
        target.push_back(p.name());
      }
      if (p.at_end()) {
        auto n = std::make_unique<Node>(Node::Kind::block_set);
        n->targets = std::move(target);
        n->body = body({"endset"}, end);
        return n;
      }
      p.expect_op("=");
      auto n = std::make_unique<Node>(Node::Kind::set);
      n->targets = std::move(target);
      n->expr = p.expression();
      p.expect_end();
      return n;
    }
    if (kw == "break") return std::make_unique<Node>(Node::Kind::break_);
    if (kw == "continue") return std::make_unique<Node>(Node::Kind::continue_);
    if (kw == "generation") {  // transformers' assistant-mask marker: renders its body
      auto n = std::make_unique<Node>(Node::Kind::if_);
      auto t = std::make_unique<Expr>(Expr::Kind::literal);
      t->value = Value::from(true);
      n->conds.push_back(std::move(t));
      n->branches.push_back(body({"endgeneration"}, end));
      return n;
    }
    throw Error("unsupported tag {% " + kw + " %}");
  }

  std::vector<Segment> segs_;
  size_t i_ = 0;
  int depth_ = 0;
  std::string current_;  // text of the end tag that stopped the last body()
};

}  // namespace

std::vector<std::unique_ptr<Node>> parse_template(std::string_view source) {
  return StmtParser(lex(source)).parse_all();
}

}  // namespace rllm::jinja
