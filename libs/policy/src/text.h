#pragma once

// Small text helpers for the policy parser's messages and checks.

#include <string>
#include <string_view>

namespace threadline::policy::internal {

// Locale-independent: <cctype> depends on the C locale.
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
inline bool IsAlpha(char c) { return IsLower(c) || (c >= 'A' && c <= 'Z'); }

// A value as an error message may show it: at most 40 bytes, control and
// non-ASCII bytes replaced, so a message never carries a hostile payload
// into a terminal or a log.
inline std::string Sanitized(std::string_view value) {
  constexpr size_t kMax = 40;
  std::string out;
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (value.size() > kMax) out += "...";
  return out;
}

// Sanitized and in single quotes.
inline std::string Quote(std::string_view value) { return "'" + Sanitized(value) + "'"; }

}  // namespace threadline::policy::internal
