#pragma once

// Cat(...): concatenates strings, string views and integers into a
// std::string for error messages and ids.
//
// Why not absl::StrCat: Debian's Abseil is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0), so absl string
// functions do not accept std::string_view, which the domain code uses
// throughout. Pure and thread-safe.

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace threadline::domain {
namespace cat_internal {

inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, char c) { out.push_back(c); }
#if !defined(ABSL_USES_STD_STRING_VIEW)
// Status::message() returns absl::string_view.
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
#endif
template <typename T>
requires std::integral<T> &&
    (!std::same_as<T, char>)&&(!std::same_as<T, bool>)void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}

}  // namespace cat_internal

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (cat_internal::Append(out, args), ...);
  return out;
}

}  // namespace threadline::domain
