#pragma once
// The house error type (STYLE.md §4): a value or an Error, close to std::expected so moving to it later is a
// rename. Expected failures (bad input, not found, conflict, database busy) travel in signatures.

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace panorama {

enum class ErrorCode {
  kInvalidArgument,     // malformed input; names the field and the reason (400)
  kUnauthenticated,     // no valid credentials (401)
  kPermissionDenied,    // not allowed (403)
  kNotFound,            // entity absent or hidden from this caller (404)
  kAlreadyExists,       // create collides (409)
  kAborted,             // concurrent change; retry the whole operation (409)
  kFailedPrecondition,  // valid request, wrong state (422)
  kResourceExhausted,   // rate, size or quota limit (429 / 413)
  kUnavailable,         // transient; retry with backoff (503)
  kInternal,            // a broken invariant: our bug (500)
};

const char* ErrorCodeName(ErrorCode code);

// One reason a field was rejected; `field` is a path such as "traits.phone" or "batch[3].type".
struct FieldViolation {
  std::string field;
  std::string reason;
};

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message, std::vector<FieldViolation> violations = {})
      : code_(code), message_(std::move(message)), violations_(std::move(violations)) {}

  static Error InvalidArgument(std::string message) { return {ErrorCode::kInvalidArgument, std::move(message)}; }
  // A single-field rejection: the message is "<field>: <reason>".
  static Error InvalidField(std::string field, std::string reason) {
    std::string message = field + ": " + reason;
    return {ErrorCode::kInvalidArgument, std::move(message), {{std::move(field), std::move(reason)}}};
  }
  static Error Unauthenticated(std::string message) { return {ErrorCode::kUnauthenticated, std::move(message)}; }
  static Error PermissionDenied(std::string message) { return {ErrorCode::kPermissionDenied, std::move(message)}; }
  static Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }
  static Error AlreadyExists(std::string message) { return {ErrorCode::kAlreadyExists, std::move(message)}; }
  static Error Aborted(std::string message) { return {ErrorCode::kAborted, std::move(message)}; }
  static Error FailedPrecondition(std::string message) { return {ErrorCode::kFailedPrecondition, std::move(message)}; }
  static Error ResourceExhausted(std::string message) { return {ErrorCode::kResourceExhausted, std::move(message)}; }
  static Error Unavailable(std::string message) { return {ErrorCode::kUnavailable, std::move(message)}; }
  static Error Internal(std::string message) { return {ErrorCode::kInternal, std::move(message)}; }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldViolation>& violations() const { return violations_; }
  Error& AddViolation(std::string field, std::string reason) {
    violations_.push_back({std::move(field), std::move(reason)});
    return *this;
  }
  // For rate and lockout limits (kResourceExhausted) and overload (kUnavailable): when the caller may try
  // again, in whole seconds; http/ sends it as Retry-After.
  Error& WithRetryAfter(int seconds) {
    retry_after_seconds_ = seconds < 1 ? 1 : seconds;
    return *this;
  }
  std::optional<int> retry_after_seconds() const { return retry_after_seconds_; }
  // Prefixes every field path, e.g. "batch[3]." when a nested message is rejected.
  Error WithFieldPrefix(const std::string& prefix) && {
    for (auto& v : violations_) v.field = prefix + v.field;
    if (!violations_.empty()) message_ = prefix + message_;
    return std::move(*this);
  }

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<FieldViolation> violations_;
  std::optional<int> retry_after_seconds_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return data_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { CheckValue(); return std::get<0>(data_); }
  const T& value() const& { CheckValue(); return std::get<0>(data_); }
  T&& value() && { CheckValue(); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(data_); }
  Error& error() { return std::get<1>(data_); }

 private:
  void CheckValue() const {
    if (data_.index() != 0) std::abort();  // reading the value of an error is a programmer error
  }
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (error_) std::abort();
  }
  const Error& error() const { return *error_; }
  Error& error() { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Result<void> Ok() { return {}; }

}  // namespace panorama

#define PANORAMA_CONCAT_INNER(a, b) a##b
#define PANORAMA_CONCAT(a, b) PANORAMA_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    auto panorama_status_ = (expr);                            \
    if (!panorama_status_) return std::move(panorama_status_.error()); \
  } while (false)

#define PANORAMA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp) return std::move(tmp.error());             \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  PANORAMA_ASSIGN_OR_RETURN_IMPL(PANORAMA_CONCAT(panorama_result_, __LINE__), lhs, expr)

// Aborts with file and line in every build: for invariants whose breach would corrupt data, never for input.
#define PANORAMA_CHECK(cond) \
  do {                       \
    if (!(cond)) ::panorama::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (false)

namespace panorama {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}
