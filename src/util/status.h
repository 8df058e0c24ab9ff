// Status: the outcome of an operation that can fail in an expected way (bad input, I/O, a peer's
// misbehaviour). Carries a machine-readable code and a human-readable message.
// Thread-safety: a value type; distinct objects may be used from distinct threads.
// Invariants: ok() <=> code() == StatusCode::kOk; an OK status has an empty message.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace imet::util {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,   // malformed input: bad encoding, bad checksum, out-of-range value
  kNotFound,          // the named thing does not exist
  kAlreadyExists,     // refusing to overwrite
  kPermissionDenied,  // wrong passphrase, forbidden action
  kCorruption,        // stored data failed an integrity check
  kIoError,           // the operating system refused a read/write
  kUnavailable,       // resource busy (e.g. data dir locked by another process)
  kFailedPrecondition,
  kInternal,  // a bug: should never happen
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>" or "OK".
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string msg) {
  return {StatusCode::kInvalidArgument, std::move(msg)};
}
inline Status not_found(std::string msg) {
  return {StatusCode::kNotFound, std::move(msg)};
}
inline Status already_exists(std::string msg) {
  return {StatusCode::kAlreadyExists, std::move(msg)};
}
inline Status permission_denied(std::string msg) {
  return {StatusCode::kPermissionDenied, std::move(msg)};
}
inline Status corruption(std::string msg) {
  return {StatusCode::kCorruption, std::move(msg)};
}
inline Status io_error(std::string msg) {
  return {StatusCode::kIoError, std::move(msg)};
}
inline Status unavailable(std::string msg) {
  return {StatusCode::kUnavailable, std::move(msg)};
}
inline Status failed_precondition(std::string msg) {
  return {StatusCode::kFailedPrecondition, std::move(msg)};
}
inline Status internal_error(std::string msg) {
  return {StatusCode::kInternal, std::move(msg)};
}

}  // namespace imet::util

// Early-return helpers. IMET_TRY(expr) returns the Status if expr (a Status) is not OK.
// IMET_ASSIGN_OR_RETURN(lhs, expr) evaluates a Result<T>, returns its error or assigns its value.
#define IMET_TRY(expr)                                   \
  do {                                                   \
    ::imet::util::Status imet_try_status_ = (expr);      \
    if (!imet_try_status_.ok()) return imet_try_status_; \
  } while (0)

#define IMET_CONCAT_INNER(a, b) a##b
#define IMET_CONCAT(a, b) IMET_CONCAT_INNER(a, b)
#define IMET_ASSIGN_OR_RETURN(lhs, expr) \
  IMET_ASSIGN_OR_RETURN_IMPL(IMET_CONCAT(imet_result_, __LINE__), lhs, expr)
#define IMET_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
