#include "threadline/privacy/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "threadline/testing/testing.h"

namespace threadline::privacy {
namespace {

TEST(Crypto, SealedTextOpensOnlyWithItsKeyAndPlace) {
  const Key k = RandomKey();
  const std::string sealed = Seal(k, "event:e1|2", "Zoë Adebayo-Lindqvist");
  EXPECT_TRUE(IsSealed(sealed));
  // Long enough that random base64url cannot contain it by chance.
  EXPECT_EQ(sealed.find("Adebayo-Lindqvist"), std::string::npos);
  auto opened = Open(k, "event:e1|2", sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "Zoë Adebayo-Lindqvist");

  EXPECT_EQ(Open(k, "event:e2|2", sealed).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(RandomKey(), "event:e1|2", sealed).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Crypto, EverySealUsesAFreshNonce) {
  const Key k = RandomKey();
  EXPECT_NE(Seal(k, "a", "same"), Seal(k, "a", "same"));
}

TEST(Crypto, FlippedOrTruncatedCiphertextIsDataLoss) {
  const Key k = RandomKey();
  const std::string sealed = Seal(k, "ctx", "a note about the customer");
  for (size_t i = kSealedPrefix.size(); i < sealed.size(); i += 3) {
    std::string bad = sealed;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(Open(k, "ctx", bad).status().code(), absl::StatusCode::kDataLoss) << "at " << i;
  }
  for (size_t len : {sealed.size() - 1, sealed.size() - 8, kSealedPrefix.size() + 4}) {
    EXPECT_EQ(Open(k, "ctx", sealed.substr(0, len)).status().code(), absl::StatusCode::kDataLoss)
        << "truncated to " << len;
  }
  EXPECT_EQ(Open(k, "ctx", "tl1:!!!").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(k, "ctx", "plain").status().code(), absl::StatusCode::kDataLoss);
}

TEST(Crypto, ACipherSealsAndOpensManyValuesAsTheFreeFunctionsDo) {
  const Key k = RandomKey();
  std::set<std::string> nonces;
  std::vector<std::string> sealed;
  {
    Cipher c(k);
    for (int i = 0; i < 600; ++i) {  // more than one block of pooled nonces
      sealed.push_back(c.Seal("event:e" + std::to_string(i), "value " + std::to_string(i)));
      nonces.insert(sealed.back().substr(0, kSealedPrefix.size() + 16));
    }
    // Opening in between sealing, and a failure, leave the cipher usable.
    EXPECT_EQ(c.Open("event:e1", sealed[0]).status().code(), absl::StatusCode::kDataLoss);
    auto again = c.Open("event:e0", sealed[0]);
    ASSERT_OK(again);
    EXPECT_EQ(*again, "value 0");
    EXPECT_EQ(c.Open("event:e0", Seal(RandomKey(), "event:e0", "x")).status().code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(nonces.size(), sealed.size()) << "a nonce repeated";
  Cipher reader(k);
  for (int i = 0; i < 600; ++i) {
    auto one = Open(k, "event:e" + std::to_string(i), sealed[i]);
    ASSERT_OK(one);
    EXPECT_EQ(*one, "value " + std::to_string(i));
    auto many = reader.Open("event:e" + std::to_string(i), sealed[i]);
    ASSERT_OK(many);
    EXPECT_EQ(*many, *one);
  }
}

TEST(Crypto, EmptyPlaintextRoundTrips) {
  const Key k = RandomKey();
  auto opened = Open(k, "", Seal(k, "", ""));
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "");
}

TEST(Crypto, BlindIsStablePerKeyAndIndex) {
  const Key k = RandomKey();
  EXPECT_EQ(Blind(k, "phone", "+31612345678"), Blind(k, "phone", "+31612345678"));
  EXPECT_NE(Blind(k, "phone", "+31612345678"), Blind(k, "phone", "+31612345679"));
  EXPECT_NE(Blind(k, "phone", "+31612345678"), Blind(k, "email", "+31612345678"));
  EXPECT_NE(Blind(k, "phone", "+31612345678"), Blind(RandomKey(), "phone", "+31612345678"));
  const std::string b = Blind(k, "phone", "+31612345678");
  EXPECT_EQ(b.front(), '~');
  EXPECT_EQ(b.find("612345678"), std::string::npos);
  EXPECT_EQ(b.find('/'), std::string::npos);
}

TEST(Crypto, KeysParseFromHexOnly) {
  const Key k = RandomKey();
  auto parsed = ParseKey("  " + KeyHex(k) + "\n");
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, k);
  EXPECT_EQ(ParseKey("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKey(std::string(64, 'g')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyId(k).size(), 16u);
  EXPECT_NE(KeyId(k), KeyId(RandomKey()));
}

}  // namespace
}  // namespace threadline::privacy
