#pragma once

// The cryptography personal data is kept under (OpenSSL EVP):
//
//   Seal / Open  AES-256-GCM with a fresh 96-bit nonce per value and
//                associated data that binds the ciphertext to where it
//                belongs (an event and a field), so it cannot be moved.
//   Blind        HMAC-SHA-256 under a deployment key: an index entry that
//                finds a value without holding it.
//
// A sealed value is text, so it fits the proto3 string it replaces:
// "tl1:" + base64url(nonce || ciphertext || tag).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

// OpenSSL's cipher context, kept out of this header.
struct evp_cipher_ctx_st;

namespace threadline::privacy {

// 256 bits of key material. Never logged, never written unwrapped.
struct Key {
  std::array<uint8_t, 32> bytes{};
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  bool operator==(const Key&) const = default;
};

// A key from the operating system's random source.
Key RandomKey();

// Every sealed value starts with this.
inline constexpr std::string_view kSealedPrefix = "tl1:";
inline bool IsSealed(std::string_view s) { return s.starts_with(kSealedPrefix); }

// `plaintext` sealed under `key`, bound to `aad`.
std::string Seal(const Key& key, std::string_view aad, std::string_view plaintext);
// The plaintext of a Seal() result. DATA_LOSS when `sealed` is malformed,
// was flipped or truncated, or was sealed with another key or `aad`.
absl::StatusOr<std::string> Open(const Key& key, std::string_view aad, std::string_view sealed);

// Raw AES-256-GCM: nonce || ciphertext || tag. For wrapping keys.
std::string SealBytes(const Key& key, std::string_view aad, std::string_view plaintext);
absl::StatusOr<std::string> OpenBytes(const Key& key, std::string_view aad,
                                      std::string_view sealed);

// Seal() and Open() for many values under one key (the fields of one
// message): the key is set up once instead of for each value. Scoped to
// one unit of work: the destructor wipes the key and its schedule, so no
// copy of a key outlives it. Not thread-safe.
class Cipher {
 public:
  explicit Cipher(const Key& key) : key_(key) {}
  ~Cipher();
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;

  std::string Seal(std::string_view aad, std::string_view plaintext);
  absl::StatusOr<std::string> Open(std::string_view aad, std::string_view sealed);
  std::string SealBytes(std::string_view aad, std::string_view plaintext);
  absl::StatusOr<std::string> OpenBytes(std::string_view aad, std::string_view sealed);

 private:
  Key key_;
  evp_cipher_ctx_st* enc_ = nullptr;  // set up with key_ on first use
  evp_cipher_ctx_st* dec_ = nullptr;
};

// An index entry for `value` in index `kind` ("phone", "email", ...):
// "~" + base64url of the first 16 bytes of HMAC-SHA-256(key, kind "\0"
// value). The same value in another index blinds differently.
std::string Blind(const Key& key, std::string_view kind, std::string_view value);

// A short, stable name for a key (the first 8 bytes of its SHA-256, hex),
// so a store can say which master key wrapped its keys without holding it.
std::string KeyId(const Key& key);

// A key written as 64 hexadecimal digits (surrounding white space ignored).
absl::StatusOr<Key> ParseKey(std::string_view hex);
std::string KeyHex(const Key& key);

}  // namespace threadline::privacy
