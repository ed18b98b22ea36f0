#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace threadline {

// A value with a tag, so that values of the same representation but different
// meaning (a stream version and a global position) cannot be swapped by
// accident. Modelled on Redpanda's named_type.
template <typename T, typename Tag>
class NamedType {
 public:
  using value_type = T;
  constexpr NamedType() = default;
  constexpr explicit NamedType(T v) : value_(std::move(v)) {}
  constexpr const T& value() const { return value_; }
  constexpr T& value() { return value_; }
  constexpr auto operator<=>(const NamedType&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const NamedType& v) { return os << v.value_; }

 private:
  T value_{};
};

using StreamVersion = NamedType<uint64_t, struct StreamVersionTag>;
using GlobalPosition = NamedType<uint64_t, struct GlobalPositionTag>;
using CustomerId = NamedType<std::string, struct CustomerIdTag>;

}  // namespace threadline

template <typename T, typename Tag>
struct std::hash<threadline::NamedType<T, Tag>> {
  size_t operator()(const threadline::NamedType<T, Tag>& v) const {
    return std::hash<T>()(v.value());
  }
};
