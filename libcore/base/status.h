// Status and Result<T>: errors are values.
//
// A Status is an errno-style code (0 = OK) plus an optional message saying where and why the
// error started. ZFS's own codes that have no errno (ECKSUM, EBADLABEL...) are mapped onto the
// errno values OpenZFS itself uses for them, so a code can cross the daemon socket unchanged.
// Result<T> holds either a T or a non-OK Status. Both are [[nodiscard]]: ignoring an error is a
// compile error under -Werror.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace uzfs {

// ZFS-specific codes, as OpenZFS defines them in terms of errno (include/sys/fs/zfs.h,
// lib/libspl/include/sys/errno.h): a checksum mismatch is EBADE, a corrupt structure EBADR...
inline constexpr int ECKSUM = EBADE;      // block checksum mismatch
inline constexpr int EFRAGS = EBADR;      // not enough contiguous space
inline constexpr int ECORRUPT = EUCLEAN;  // on-disk structure fails validation

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  // code must be non-zero; msg says what failed ("vdev_label: bad magic at offset 16384").
  static Status Error(int code, std::string msg = {}) { return Status(code, std::move(msg)); }

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return msg_; }
  // "message: strerror(code)" or just strerror when there is no message.
  std::string ToString() const;

  // Prepend context: "reading MOS: " + previous message. No-op on OK.
  Status Context(std::string_view what) const;

 private:
  Status(int code, std::string msg) : code_(code), msg_(std::move(msg)) {}
  int code_ = 0;
  std::string msg_;
};

// Text for a code, ZFS codes included ("checksum mismatch" for ECKSUM).
std::string ErrorText(int code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status s) : v_(std::move(s)) {      // NOLINT
    if (std::get<Status>(v_).ok()) std::abort();  // a Result error must be an error
  }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace uzfs

namespace uzfs {
inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) { return r.status(); }
}  // namespace uzfs

// Early-return helpers. UZFS_TRY(expr) returns the Status of a failed Status or Result;
// UZFS_ASSIGN(decl, expr) unwraps a Result into decl ("auto x" or an existing lvalue) or
// returns its Status.
#define UZFS_CONCAT_INNER(a, b) a##b
#define UZFS_CONCAT(a, b) UZFS_CONCAT_INNER(a, b)
// (The Status is copied: expr may be `f().status()`, a reference into a temporary that dies
// at the end of the declaration.)
#define UZFS_TRY(expr)                                           \
  do {                                                           \
    ::uzfs::Status uzfs_try_ = ::uzfs::StatusOf(expr);           \
    if (!uzfs_try_.ok()) return uzfs_try_;                       \
  } while (0)
#define UZFS_ASSIGN_IMPL(tmp, decl, expr)              \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return ::uzfs::StatusOf(tmp);         \
  decl = std::move(tmp).value()
#define UZFS_ASSIGN(decl, expr) UZFS_ASSIGN_IMPL(UZFS_CONCAT(uzfs_r_, __LINE__), decl, expr)
