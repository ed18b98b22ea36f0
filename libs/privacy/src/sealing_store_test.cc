#include "threadline/privacy/sealing_store.h"

#include <gtest/gtest.h>

#include "threadline/privacy/sealer.h"
#include "threadline/privacy/vault.h"
#include "threadline/testing/testing.h"

namespace threadline::privacy {
namespace {

using ::threadline::testing::FilesContaining;
using ::threadline::testing::TempDir;

class SealingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions vo;
    vo.path = (dir_.path() / "vault").string();
    vo.master = RandomKey();
    auto v = Vault::Open(vo);
    ASSERT_OK(v);
    vault_ = std::move(*v);
    eventstore::Options o;
    o.path = (dir_.path() / "store").string();
    o.sync = false;
    auto s = eventstore::EventStore::Open(o);
    ASSERT_OK(s);
    raw_ = std::move(*s);
    store_ = std::make_unique<SealingStore>(raw_.get(), vault_.get(),
                                            std::set<std::string>{"phone", "dir_phone"});
  }

  eventstore::AppendRequest Register(const std::string& customer, const std::string& name,
                                     const std::string& phone) {
    eventstore::AppendRequest r;
    r.stream = "customer-" + customer;
    v1::EventEnvelope e;
    e.set_event_id("ev_" + customer);
    e.set_customer_id(customer);
    e.set_aggregate_type("customer");
    e.set_aggregate_id(customer);
    e.mutable_customer_registered()->set_customer_id(customer);
    e.mutable_customer_registered()->set_name(name);
    e.mutable_customer_registered()->add_phone_numbers(phone);
    r.events.push_back(e);
    r.claims.push_back({"phone", phone, customer});
    r.claims.push_back({"dir_phone", phone + "/" + customer, customer});
    return r;
  }

  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<eventstore::EventStore> raw_;
  std::unique_ptr<SealingStore> store_;
};

TEST_F(SealingStoreTest, StoredSealedReadOpened) {
  ASSERT_OK(store_->Append(Register("cus_1", "Ottoline Vanderbeek", "+31612345678")));
  auto read = store_->ReadStream("customer-cus_1", StreamVersion(0), 0);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].customer_registered().name(), "Ottoline Vanderbeek");

  auto raw = raw_->ReadStream("customer-cus_1", StreamVersion(0), 0);
  ASSERT_OK(raw);
  EXPECT_TRUE(IsSealed((*raw)[0].customer_registered().name()));
  // The outbox reads what is stored: sealed.
  auto all = store_->ReadAll(GlobalPosition(0), 10);
  ASSERT_OK(all);
  EXPECT_TRUE(IsSealed((*all)[0].envelope.customer_registered().name()));

  raw_.reset();  // close, so every file is complete
  store_.reset();
  for (const char* plain : {"Ottoline", "Vanderbeek", "612345678"}) {
    EXPECT_EQ(FilesContaining(dir_.path() / "store", plain), std::vector<std::filesystem::path>())
        << plain;
  }
}

TEST_F(SealingStoreTest, PersonalClaimsAreBlindedAndStillFound) {
  ASSERT_OK(store_->Append(Register("cus_1", "A", "+31612345678")));
  auto holder = store_->FindClaim("phone", "+31612345678");
  ASSERT_OK(holder);
  EXPECT_EQ(holder->value_or(""), "cus_1");
  auto clear = raw_->FindClaim("phone", "+31612345678");
  ASSERT_OK(clear);
  EXPECT_FALSE(clear->has_value());
  auto scan = store_->ScanClaims("dir_phone", "+31612345678/", 10);
  ASSERT_OK(scan);
  ASSERT_EQ(scan->size(), 1u);
  EXPECT_EQ((*scan)[0].second, "cus_1");
  EXPECT_EQ(store_->ScanClaims("dir_phone", "+3161", 10).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto dup = store_->Append(Register("cus_2", "B", "+31612345678"));
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();

  eventstore::StateWrite release;
  release.releases.push_back({"phone", "+31612345678", "cus_1"});
  ASSERT_OK(store_->Write(release));
  holder = store_->FindClaim("phone", "+31612345678");
  ASSERT_OK(holder);
  EXPECT_FALSE(holder->has_value());
}

TEST_F(SealingStoreTest, ClaimsInTheClearFromAnEarlierBuildStillCount) {
  eventstore::StateWrite legacy;
  legacy.claims.push_back({"phone", "+31699999999", "cus_old"});
  ASSERT_OK(raw_->Write(legacy));
  auto holder = store_->FindClaim("phone", "+31699999999");
  ASSERT_OK(holder);
  EXPECT_EQ(holder->value_or(""), "cus_old");
  EXPECT_EQ(store_->Append(Register("cus_new", "N", "+31699999999")).status().code(),
            absl::StatusCode::kAlreadyExists);
  eventstore::StateWrite release;
  release.releases.push_back({"phone", "+31699999999", "cus_old"});
  ASSERT_OK(store_->Write(release));
  ASSERT_OK(store_->Append(Register("cus_new", "N", "+31699999999")));
}

TEST_F(SealingStoreTest, AnErasedCustomerReadsAsErasedAndTakesNoEvents) {
  ASSERT_OK(store_->Append(Register("cus_1", "Ottoline", "+31612345678")));
  ASSERT_OK(store_->Append(Register("cus_2", "Bartholomeus", "+31687654321")));
  ASSERT_OK(vault_->Erase("cus_1"));
  auto read = store_->ReadStream("customer-cus_1", StreamVersion(0), 0);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].customer_registered().name(), "");
  EXPECT_EQ((*read)[0].customer_id(), "cus_1");

  eventstore::AppendRequest more;
  more.stream = "customer-cus_1";
  v1::EventEnvelope e;
  e.set_event_id("ev_more");
  e.set_customer_id("cus_1");
  e.mutable_order_cancelled()->set_order_id("ord_1");  // nothing personal in it
  more.events.push_back(e);
  auto refused = store_->Append(more);
  EXPECT_TRUE(IsErased(refused.status())) << refused.status();
  auto head = raw_->StreamHead("customer-cus_1");
  ASSERT_OK(head);
  EXPECT_EQ(head->value(), 1u);

  auto other = store_->ReadStream("customer-cus_2", StreamVersion(0), 0);
  ASSERT_OK(other);
  EXPECT_EQ((*other)[0].customer_registered().name(), "Bartholomeus");
}

TEST_F(SealingStoreTest, AnEventFromBeforeSealingReadsAsWrittenUntilItsCustomerIsErased) {
  // An earlier build stored it in the clear, and its customer never had a
  // key.
  ASSERT_OK(raw_->Append(Register("cus_old", "Philippa Oudshoorn", "+31611122233")));
  auto read = store_->ReadStream("customer-cus_old", StreamVersion(0), 0);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].customer_registered().name(), "Philippa Oudshoorn");
  v1::EventEnvelope e = (*read)[0];
  ASSERT_OK(OpenOne(*vault_, e));
  EXPECT_EQ(e.customer_registered().phone_numbers(0), "+31611122233");

  ASSERT_OK(vault_->Obtain("cus_old"));
  ASSERT_OK(vault_->Erase("cus_old"));
  read = store_->ReadStream("customer-cus_old", StreamVersion(0), 0);
  ASSERT_OK(read);
  EXPECT_EQ((*read)[0].customer_registered().name(), "");
  EXPECT_EQ((*read)[0].customer_registered().phone_numbers(0), "");
}

TEST_F(SealingStoreTest, AnAlteredSealedFieldIsDataLoss) {
  ASSERT_OK(store_->Append(Register("cus_1", "Ottoline", "+31612345678")));
  auto all = raw_->ReadAll(GlobalPosition(0), 10);
  ASSERT_OK(all);
  v1::EventEnvelope e = (*all)[0].envelope;
  std::string name = e.customer_registered().name();
  name[10] = name[10] == 'A' ? 'B' : 'A';
  e.mutable_customer_registered()->set_name(name);
  auto s = OpenOne(*vault_, e);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);

  // A sealed event whose subject has no key and was never erased: the vault
  // lost it, which must not read as an erasure.
  v1::EventEnvelope orphan = (*all)[0].envelope;
  orphan.set_customer_id("cus_unknown");
  s = OpenOne(*vault_, orphan);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("lost"), std::string::npos) << s;
}

}  // namespace
}  // namespace threadline::privacy
