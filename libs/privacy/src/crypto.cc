#include "threadline/privacy/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace threadline::privacy {
namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// One cipher context per thread, reset for each value: creating one costs
// more than sealing a short field.
EVP_CIPHER_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) std::abort();
  EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
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

}  // namespace

Key RandomKey() {
  Key k;
  Check(RAND_bytes(k.bytes.data(), static_cast<int>(k.bytes.size())));
  return k;
}

std::string SealBytes(const Key& key, std::string_view aad, std::string_view plaintext) {
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  Check(RAND_bytes(o, kNonce));
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  Check(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), o));
  int len = 0;
  if (!aad.empty())
    Check(EVP_EncryptUpdate(ctx, nullptr, &len, U(aad), static_cast<int>(aad.size())));
  if (!plaintext.empty()) {
    Check(
        EVP_EncryptUpdate(ctx, o + kNonce, &len, U(plaintext), static_cast<int>(plaintext.size())));
  }
  Check(EVP_EncryptFinal_ex(ctx, o + kNonce + plaintext.size(), &len));
  Check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plaintext.size()));
  return out;
}

absl::StatusOr<std::string> OpenBytes(const Key& key, std::string_view aad,
                                      std::string_view sealed) {
  if (sealed.size() < kNonce + kTag) {
    return absl::DataLossError("sealed value is truncated");
  }
  const size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  Check(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), U(sealed)));
  int len = 0;
  if (!aad.empty())
    Check(EVP_DecryptUpdate(ctx, nullptr, &len, U(aad), static_cast<int>(aad.size())));
  if (n > 0) {
    Check(EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                            U(sealed) + kNonce, static_cast<int>(n)));
  }
  std::string tag(sealed.substr(kNonce + n));
  Check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, tag.data()));
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &len) != 1) {
    return absl::DataLossError(
        "sealed value does not authenticate: altered, or sealed with another key or for "
        "another place");
  }
  return out;
}

std::string Seal(const Key& key, std::string_view aad, std::string_view plaintext) {
  std::string out(kSealedPrefix);
  out += absl::WebSafeBase64Escape(SealBytes(key, aad, plaintext));
  return out;
}

absl::StatusOr<std::string> Open(const Key& key, std::string_view aad, std::string_view sealed) {
  if (!IsSealed(sealed)) return absl::DataLossError("value is not sealed");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(A(sealed.substr(kSealedPrefix.size())), &raw)) {
    return absl::DataLossError("sealed value is not valid base64url");
  }
  return OpenBytes(key, aad, raw);
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
