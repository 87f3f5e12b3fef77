// Control-plane error handling: Error{message, where} and Result<T>
// (g++ 12 has no std::expected).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace dnsd::base {

// `where` is "file:line" (or just "file", or empty) so a user can find the cause.
struct Error {
  std::string message;
  std::string where;

  // "svc.yaml:12: Service default/web: ports[0].port out of range"
  std::string str() const { return where.empty() ? message : where + ": " + message; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace dnsd::base
