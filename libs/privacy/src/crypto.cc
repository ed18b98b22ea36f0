#include "threadline/privacy/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace threadline::privacy {
namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

// The cipher, fetched once: EVP_aes_256_gcm() makes each init look the
// algorithm up in the provider again.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) std::abort();
    return c;
  }();
  return cipher;
}

// Debian's Abseil has a string_view of its own.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Failing to encrypt with valid inputs means OpenSSL itself is broken;
// carrying on would store plaintext or garbage.
void Check(int ok) {
  if (ok != 1) std::abort();
}

constexpr size_t kNoncePool = 256 * kNonce;

// A fresh random nonce. Drawn from the operating system's DRBG a block at
// a time; a forked child draws its own block.
void NewNonce(unsigned char* out) {
  thread_local std::array<unsigned char, kNoncePool> pool;
  thread_local size_t used = kNoncePool;
  thread_local pid_t owner = 0;
  if (used + kNonce > kNoncePool || owner != getpid()) {
    Check(RAND_bytes(pool.data(), static_cast<int>(pool.size())));
    used = 0;
    owner = getpid();
  }
  std::memcpy(out, pool.data() + used, kNonce);
  OPENSSL_cleanse(pool.data() + used, kNonce);
  used += kNonce;
}

}  // namespace

Key RandomKey() {
  Key k;
  Check(RAND_bytes(k.bytes.data(), static_cast<int>(k.bytes.size())));
  return k;
}

Cipher::~Cipher() {
  EVP_CIPHER_CTX_free(enc_);  // frees cleanse the key schedule
  EVP_CIPHER_CTX_free(dec_);
  OPENSSL_cleanse(key_.bytes.data(), key_.bytes.size());
}

std::string Cipher::SealBytes(std::string_view aad, std::string_view plaintext) {
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  NewNonce(o);
  if (enc_ == nullptr) {
    enc_ = EVP_CIPHER_CTX_new();
    if (enc_ == nullptr) std::abort();
    Check(EVP_EncryptInit_ex(enc_, Aes256Gcm(), nullptr, key_.bytes.data(), o));
  } else {
    Check(EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, o));  // same key, new nonce
  }
  int len = 0;
  if (!aad.empty())
    Check(EVP_EncryptUpdate(enc_, nullptr, &len, U(aad), static_cast<int>(aad.size())));
  if (!plaintext.empty()) {
    Check(EVP_EncryptUpdate(enc_, o + kNonce, &len, U(plaintext),
                            static_cast<int>(plaintext.size())));
  }
  Check(EVP_EncryptFinal_ex(enc_, o + kNonce + plaintext.size(), &len));
  Check(EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plaintext.size()));
  return out;
}

absl::StatusOr<std::string> Cipher::OpenBytes(std::string_view aad, std::string_view sealed) {
  if (sealed.size() < kNonce + kTag) {
    return absl::DataLossError("sealed value is truncated");
  }
  const size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  if (dec_ == nullptr) {
    dec_ = EVP_CIPHER_CTX_new();
    if (dec_ == nullptr) std::abort();
    Check(EVP_DecryptInit_ex(dec_, Aes256Gcm(), nullptr, key_.bytes.data(), U(sealed)));
  } else {
    Check(EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, U(sealed)));
  }
  int len = 0;
  if (!aad.empty())
    Check(EVP_DecryptUpdate(dec_, nullptr, &len, U(aad), static_cast<int>(aad.size())));
  if (n > 0) {
    Check(EVP_DecryptUpdate(dec_, reinterpret_cast<unsigned char*>(out.data()), &len,
                            U(sealed) + kNonce, static_cast<int>(n)));
  }
  std::string tag(sealed.substr(kNonce + n));
  Check(EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kTag, tag.data()));
  if (EVP_DecryptFinal_ex(dec_, reinterpret_cast<unsigned char*>(out.data()) + n, &len) != 1) {
    return absl::DataLossError(
        "sealed value does not authenticate: altered, or sealed with another key or for "
        "another place");
  }
  return out;
}

std::string Cipher::Seal(std::string_view aad, std::string_view plaintext) {
  std::string out(kSealedPrefix);
  out += absl::WebSafeBase64Escape(SealBytes(aad, plaintext));
  return out;
}

absl::StatusOr<std::string> Cipher::Open(std::string_view aad, std::string_view sealed) {
  if (!IsSealed(sealed)) return absl::DataLossError("value is not sealed");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(A(sealed.substr(kSealedPrefix.size())), &raw)) {
    return absl::DataLossError("sealed value is not valid base64url");
  }
  return OpenBytes(aad, raw);
}

std::string SealBytes(const Key& key, std::string_view aad, std::string_view plaintext) {
  return Cipher(key).SealBytes(aad, plaintext);
}

absl::StatusOr<std::string> OpenBytes(const Key& key, std::string_view aad,
                                      std::string_view sealed) {
  return Cipher(key).OpenBytes(aad, sealed);
}

std::string Seal(const Key& key, std::string_view aad, std::string_view plaintext) {
  return Cipher(key).Seal(aad, plaintext);
}

absl::StatusOr<std::string> Open(const Key& key, std::string_view aad, std::string_view sealed) {
  return Cipher(key).Open(aad, sealed);
}

std::string Blind(const Key& key, std::string_view kind, std::string_view value) {
  std::string msg(kind);
  msg.push_back('\0');
  msg.append(value);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()), U(msg), msg.size(),
           mac, &len) == nullptr) {
    std::abort();
  }
  return "~" + absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(mac), 16));
}

std::string KeyId(const Key& key) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(key.bytes.data(), key.bytes.size(), d);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(d), 8));
}

absl::StatusOr<Key> ParseKey(std::string_view hex) {
  absl::string_view h = absl::StripAsciiWhitespace(A(hex));
  hex = std::string_view(h.data(), h.size());
  if (hex.size() != 64) {
    return absl::InvalidArgumentError("a key is 64 hexadecimal digits (32 bytes); this one has " +
                                      std::to_string(hex.size()) + " characters");
  }
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "a key is 64 hexadecimal digits; found a non-hex character");
    }
  }
  std::string raw = absl::HexStringToBytes(A(hex));
  Key k;
  std::copy(raw.begin(), raw.end(), k.bytes.begin());
  return k;
}

std::string KeyHex(const Key& key) { return absl::BytesToHexString(A(key.view())); }

}  // namespace threadline::privacy
