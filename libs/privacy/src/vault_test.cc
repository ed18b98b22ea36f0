#include "threadline/privacy/vault.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "threadline/privacy/sealer.h"
#include "threadline/privacy/sealing_store.h"
#include "threadline/testing/testing.h"

namespace threadline::privacy {
namespace {

using ::threadline::testing::FilesContaining;
using ::threadline::testing::TempDir;

class VaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<Vault> OpenVault(const Key& master, std::optional<Key> previous = {}) {
    VaultOptions o;
    o.path = (dir_.path() / "vault").string();
    o.master = master;
    o.previous_master = previous;
    auto v = Vault::Open(o);
    EXPECT_OK(v);
    return v.ok() ? std::move(*v) : nullptr;
  }
  TempDir dir_;
  Key master_ = RandomKey();
};

TEST_F(VaultTest, AKeyIsCreatedOnceAndSurvivesAReopen) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  auto none = vault->Find("cus_1");
  ASSERT_OK(none);
  EXPECT_FALSE(none->key);
  EXPECT_FALSE(none->erased);
  auto k1 = vault->Obtain("cus_1");
  ASSERT_OK(k1);
  auto again = vault->Obtain("cus_1");
  ASSERT_OK(again);
  EXPECT_EQ(*again, *k1);
  auto other = vault->Obtain("cus_2");
  ASSERT_OK(other);
  EXPECT_NE(*other, *k1);
  auto index = vault->IndexKey();
  ASSERT_OK(index);
  vault.reset();

  vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  auto found = vault->Find("cus_1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->key);
  EXPECT_EQ(*found->key, *k1);
  auto index_again = vault->IndexKey();
  ASSERT_OK(index_again);
  EXPECT_EQ(*index_again, *index);
  // Neither key is on disk unwrapped.
  EXPECT_TRUE(FilesContaining(dir_.path(), std::string(k1->view())).empty());
}

TEST_F(VaultTest, ConcurrentFirstUsesAgreeOnOneKey) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  std::vector<Key> got(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto k = vault->Obtain("cus_race");
      if (k.ok()) got[i] = *k;
    });
  }
  for (auto& t : threads) t.join();
  for (const Key& k : got) EXPECT_EQ(k, got[0]);
}

TEST_F(VaultTest, AnErasedKeyIsGoneFromEveryFileOfTheVault) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  std::vector<std::string> heard;
  vault->OnErase([&](const std::string& s) { heard.push_back(s); });
  ASSERT_OK(vault->Obtain("cus_keep"));
  auto k = vault->Obtain("cus_gone");
  ASSERT_OK(k);
  for (int i = 0; i < 50; ++i) ASSERT_OK(vault->Obtain("cus_other_" + std::to_string(i)));
  auto wrapped = vault->WrappedKey("cus_gone");
  ASSERT_OK(wrapped);
  ASSERT_TRUE(wrapped->has_value());
  // The wrapped bytes are on disk (the write-ahead log) before erasure.
  ASSERT_FALSE(FilesContaining(dir_.path(), **wrapped).empty());

  auto erased = vault->Erase("cus_gone");
  ASSERT_OK(erased);
  EXPECT_TRUE(erased->erased_now);
  EXPECT_EQ(heard, std::vector<std::string>{"cus_gone"});
  EXPECT_EQ(FilesContaining(dir_.path(), **wrapped), std::vector<std::filesystem::path>());

  auto lookup = vault->Find("cus_gone");
  ASSERT_OK(lookup);
  EXPECT_FALSE(lookup->key);
  EXPECT_TRUE(lookup->erased);
  auto obtain = vault->Obtain("cus_gone");
  EXPECT_TRUE(IsErased(obtain.status())) << obtain.status();

  auto twice = vault->Erase("cus_gone");
  ASSERT_OK(twice);
  EXPECT_FALSE(twice->erased_now);
  EXPECT_EQ(twice->erased_at, erased->erased_at);
  EXPECT_EQ(heard.size(), 1u);

  vault.reset();
  vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  EXPECT_TRUE(IsErased(vault->Obtain("cus_gone").status()));
  auto kept = vault->Find("cus_keep");
  ASSERT_OK(kept);
  EXPECT_TRUE(kept->key);
  EXPECT_TRUE(FilesContaining(dir_.path(), **wrapped).empty());
}

TEST_F(VaultTest, AnotherMasterKeyIsRefusedAndARotationRewrapsEveryKey) {
  Key k1;
  {
    auto vault = OpenVault(master_);
    ASSERT_NE(vault, nullptr);
    auto k = vault->Obtain("cus_1");
    ASSERT_OK(k);
    k1 = *k;
  }
  const Key next = RandomKey();
  VaultOptions o;
  o.path = (dir_.path() / "vault").string();
  o.master = next;
  auto refused = Vault::Open(o);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(KeyId(master_)), std::string::npos) << refused.status();

  {
    auto rotated = OpenVault(next, master_);
    ASSERT_NE(rotated, nullptr);
    EXPECT_EQ(rotated->MasterKeyId(), KeyId(next));
    auto k = rotated->Find("cus_1");
    ASSERT_OK(k);
    ASSERT_TRUE(k->key);
    EXPECT_EQ(*k->key, k1);
  }
  // After the rotation the old master key opens nothing.
  o.master = master_;
  EXPECT_EQ(Vault::Open(o).status().code(), absl::StatusCode::kFailedPrecondition);
  auto reopened = OpenVault(next);
  ASSERT_NE(reopened, nullptr);
  auto k = reopened->Find("cus_1");
  ASSERT_OK(k);
  EXPECT_EQ(*k->key, k1);
}

TEST_F(VaultTest, ACacheDropsAKeyItWasToldIsErased) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  KeyCache cache(vault.get());
  vault->OnErase([&](const std::string& s) { cache.Forget(s); });
  auto k = cache.Obtain("cus_1");
  ASSERT_OK(k);
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_OK(vault->Erase("cus_1"));
  EXPECT_EQ(cache.size(), 0u);
  auto found = cache.Find("cus_1");
  ASSERT_OK(found);
  EXPECT_FALSE(found->key);
  EXPECT_TRUE(found->erased);
  EXPECT_TRUE(IsErased(cache.Obtain("cus_1").status()));
}

TEST_F(VaultTest, ABoundedCacheStillAnswers) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  KeyCache cache(vault.get(), 4);
  std::vector<Key> keys;
  for (int i = 0; i < 10; ++i) {
    auto k = cache.Obtain("cus_" + std::to_string(i));
    ASSERT_OK(k);
    keys.push_back(*k);
  }
  EXPECT_EQ(cache.size(), 4u);
  auto first = cache.Find("cus_0");
  ASSERT_OK(first);
  ASSERT_TRUE(first->key);
  EXPECT_EQ(*first->key, keys[0]);
}

// Counts the lookups that reach the vault, as a vault in another process
// would see them.
class CountingSource final : public KeySource {
 public:
  explicit CountingSource(KeySource* inner) : inner_(inner) {}
  absl::StatusOr<Key> Obtain(std::string_view s) override { return inner_->Obtain(s); }
  absl::StatusOr<KeyLookup> Find(std::string_view s) override {
    ++finds;
    return inner_->Find(s);
  }
  absl::StatusOr<Key> IndexKey() override { return inner_->IndexKey(); }
  int finds = 0;

 private:
  KeySource* inner_;
};

TEST_F(VaultTest, ACacheRemembersSubjectsWithoutAKeyUntilASealedValueAsksAgain) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  CountingSource remote(vault.get());
  KeyCache cache(&remote);
  // Events from before sealing: one question for the subject, not one each.
  for (int i = 0; i < 5; ++i) {
    auto found = cache.Find("cus_old");
    ASSERT_OK(found);
    EXPECT_FALSE(found->key);
    EXPECT_FALSE(found->erased);
  }
  EXPECT_EQ(remote.finds, 1);

  // Another process makes the key and seals an event with it; this cache
  // still says "no key", and an event that is sealed asks again.
  auto made = vault->Obtain("cus_old");
  ASSERT_OK(made);
  v1::EventEnvelope e;
  e.set_event_id("ev_1");
  e.set_customer_id("cus_old");
  e.mutable_customer_registered()->set_customer_id("cus_old");
  e.mutable_customer_registered()->set_name("Cornelis Uitenbroek");
  SealEvent(e, *made);
  ASSERT_OK(OpenOne(cache, e));
  EXPECT_EQ(e.customer_registered().name(), "Cornelis Uitenbroek");
  EXPECT_EQ(remote.finds, 2);
  auto now = cache.Find("cus_old");
  ASSERT_OK(now);
  ASSERT_TRUE(now->key);
  EXPECT_EQ(*now->key, *made);
  EXPECT_EQ(remote.finds, 2) << "the key is cached now";

  // An erasure replaces what was remembered.
  ASSERT_OK(cache.Find("cus_other"));
  cache.Forget("cus_other");
  auto gone = cache.Find("cus_other");
  ASSERT_OK(gone);
  EXPECT_TRUE(gone->erased);
}

TEST_F(VaultTest, BadSubjectsAreRefused) {
  auto vault = OpenVault(master_);
  ASSERT_NE(vault, nullptr);
  EXPECT_EQ(vault->Obtain("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(vault->Erase(std::string(300, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace threadline::privacy
