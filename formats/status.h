// Errors as values: loading and user-input failures carry a message naming the
// file, tensor or node. Used by every layer above formats/.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace rllm {

class Status {
 public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

inline Status ok_status() { return Status(); }

// A value or the Status explaining why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  // Anything convertible to T, e.g. unique_ptr<Derived> for unique_ptr<Base>.
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  // An ok Status when there is a value (messages built for either case, like a
  // test's REQUIRE_MESSAGE logged on success, may ask).
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rllm

// Propagate a failed Status or Result from the enclosing function.
#define RLLM_CONCAT_INNER(a, b) a##b
#define RLLM_CONCAT(a, b) RLLM_CONCAT_INNER(a, b)
#define RLLM_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::rllm::Status rllm_status_ = (expr);           \
    if (!rllm_status_.ok()) return rllm_status_;    \
  } while (0)
#define RLLM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
#define RLLM_ASSIGN_OR_RETURN(lhs, expr) \
  RLLM_ASSIGN_OR_RETURN_IMPL(RLLM_CONCAT(rllm_result_, __LINE__), lhs, expr)
