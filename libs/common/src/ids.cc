#include "threadline/common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace threadline {
namespace {

// Monotonic within the process: two ids made in the same millisecond still
// sort in creation order (RFC 9562, method 1: a counter in rand_a).
struct V7State {
  std::mutex mu;
  int64_t last_ms = 0;
  uint16_t counter = 0;
};

V7State& State() {
  static V7State* s = new V7State;
  return *s;
}

// Cryptographic random bytes from a per-thread buffer refilled 4 KiB at a
// time: one RAND_bytes call (a locked DRBG) per 256 ids instead of per id,
// which the command path's profile showed at about 9 % of its instructions.
bool RandomBytes(unsigned char* out, size_t n) {
  thread_local std::array<unsigned char, 4096> buffer;
  thread_local size_t used = buffer.size();
  if (used + n > buffer.size()) {
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) return false;
    used = 0;
  }
  std::memcpy(out, buffer.data() + used, n);
  // Each byte is handed out once.
  std::memset(buffer.data() + used, 0, n);
  used += n;
  return true;
}

}  // namespace

std::string NewUuidV7(const Clock& clock) {
  std::array<unsigned char, 16> b{};
  if (!RandomBytes(b.data(), b.size())) {
    // Never expected; fall back to a process-local counter mix so ids stay unique.
    static std::atomic<uint64_t> fallback{0x9e3779b97f4a7c15ULL};
    uint64_t x = fallback.fetch_add(0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(x >> (8 * i));
  }
  int64_t ms = ToUnixMicros(clock.Now()) / 1000;
  uint16_t counter;
  {
    V7State& s = State();
    std::lock_guard lock(s.mu);
    if (ms <= s.last_ms) {
      ms = s.last_ms;
      if (++s.counter > 0x0fff) {  // counter exhausted: borrow the next millisecond
        ms = ++s.last_ms;
        s.counter = 0;
      }
    } else {
      s.last_ms = ms;
      s.counter = static_cast<uint16_t>(b[6] & 0x03);  // small random start
    }
    counter = s.counter;
  }
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0f));
  b[7] = static_cast<unsigned char>(counter & 0xff);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

std::string NewId(std::string_view prefix, const Clock& clock) {
  std::string uuid = NewUuidV7(clock);
  std::string out(prefix);
  out.push_back('_');
  for (char c : uuid) {
    if (c != '-') out.push_back(c);
  }
  return out;
}

bool HasIdShape(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + 32) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
  for (char c : id.substr(prefix.size() + 1)) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

}  // namespace threadline
