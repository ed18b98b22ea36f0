#pragma once

// Key and value encodings for RocksDB records. Integers are
// big-endian so RocksDB's bytewise order equals numeric order.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace threadline::coding {

inline void PutFixed64BE(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutFixed32BE(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint64_t GetFixed64BE(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline uint32_t GetFixed32BE(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::string Fixed64Key(uint64_t v) {
  std::string s;
  PutFixed64BE(s, v);
  return s;
}

// Length-prefixed strings (varint-free: 4-byte length), for small records.
inline void PutString(std::string& out, std::string_view s) {
  PutFixed32BE(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
// Reads one length-prefixed string from `in`, advancing it; nullopt if short.
inline std::optional<std::string> GetString(std::string_view& in) {
  if (in.size() < 4) return std::nullopt;
  uint32_t n = GetFixed32BE(in);
  in.remove_prefix(4);
  if (in.size() < n) return std::nullopt;
  std::string s(in.substr(0, n));
  in.remove_prefix(n);
  return s;
}

}  // namespace threadline::coding
