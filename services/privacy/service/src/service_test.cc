#include "threadline/privacy_service/service.h"

#include <gtest/gtest.h>

#include "threadline/common/ids.h"
#include "threadline/testing/testing.h"

namespace threadline::privacy {
namespace {

using ::threadline::testing::TempDir;

class PrivacyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions vo;
    vo.path = (dir_.path() / "vault").string();
    vo.master = RandomKey();
    auto v = Vault::Open(vo);
    ASSERT_OK(v);
    vault_ = std::move(*v);
    eventstore::Options o;
    o.path = (dir_.path() / "events").string();
    o.sync = false;
    auto s = eventstore::EventStore::Open(o);
    ASSERT_OK(s);
    store_ = std::move(*s);
    service_ = std::make_unique<PrivacyService>(
        command::Env{store_.get(), nullptr, "privacy", v1::DEPARTMENT_PRIVACY}, vault_.get(),
        [this](const std::string& customer) -> absl::StatusOr<v1::CustomerDataExport> {
          ++journey_calls_;
          v1::CustomerDataExport x;
          x.set_customer_id(customer);
          x.mutable_card()->set_name("Henrietta Oyelaran");
          x.add_events()->mutable_customer_registered()->set_name("Henrietta Oyelaran");
          return x;
        });
    inv_.actor.set_principal("dpo");
    inv_.actor.set_role("privacy");
    ASSERT_OK(vault_->Obtain(customer_));
  }

  v1::EraseCustomerRequest Erase(const std::string& request_id) {
    v1::EraseCustomerRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_EMAIL);
    r.set_customer_id(customer_);
    r.set_reason("DSR-2026-114");
    return r;
  }

  size_t Recorded() {
    auto events = store_->ReadStream(std::string(kDataSubjectAggregate) + "-" + customer_,
                                     StreamVersion(0), 0);
    return events.ok() ? events->size() : 0;
  }

  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<PrivacyService> service_;
  command::Invocation inv_;
  int journey_calls_ = 0;
  const std::string customer_ = NewId("cus");
};

TEST_F(PrivacyServiceTest, AnErasureDestroysTheKeyAndIsRecordedOnce) {
  auto first = service_->EraseCustomer(inv_, Erase("req-1"));
  ASSERT_OK(first);
  EXPECT_TRUE(first->erased_now());
  EXPECT_FALSE(first->ack().replayed());
  auto lookup = vault_->Find(customer_);
  ASSERT_OK(lookup);
  EXPECT_TRUE(lookup->erased);
  EXPECT_FALSE(lookup->key);
  ASSERT_EQ(Recorded(), 1u);
  auto events =
      store_->ReadStream(std::string(kDataSubjectAggregate) + "-" + customer_, StreamVersion(0), 0);
  ASSERT_OK(events);
  const auto& e = (*events)[0];
  EXPECT_TRUE(e.has_customer_erased());
  EXPECT_EQ(e.customer_id(), customer_);
  EXPECT_EQ(e.department(), v1::DEPARTMENT_PRIVACY);
  EXPECT_EQ(e.actor().role(), "privacy");

  // The same request again: the first answer.
  auto retry = service_->EraseCustomer(inv_, Erase("req-1"));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->ack().replayed());
  EXPECT_TRUE(retry->erased_now());
  // Another request: a no-op that says when the first one was.
  auto again = service_->EraseCustomer(inv_, Erase("req-2"));
  ASSERT_OK(again);
  EXPECT_FALSE(again->erased_now());
  EXPECT_EQ(again->erased_at().seconds(), first->erased_at().seconds());
  EXPECT_EQ(Recorded(), 1u);
}

TEST_F(PrivacyServiceTest, HostileOrMistakenErasuresAreRefusedPrecisely) {
  auto r = Erase("req-x");
  r.set_customer_id(NewId("cus"));
  auto unknown = service_->EraseCustomer(inv_, r);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  r = Erase("req-y");
  r.set_reason("");
  EXPECT_EQ(service_->EraseCustomer(inv_, r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Erase("req-z");
  r.set_customer_id(
      "cus_1\x01"
      "abc");
  EXPECT_EQ(service_->EraseCustomer(inv_, r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Erase("");
  EXPECT_EQ(service_->EraseCustomer(inv_, r).status().code(), absl::StatusCode::kInvalidArgument);
  auto lookup = vault_->Find(customer_);
  ASSERT_OK(lookup);
  EXPECT_TRUE(lookup->key) << "a refused erasure erased nothing";
  EXPECT_EQ(Recorded(), 0u);
}

TEST_F(PrivacyServiceTest, AnExportIsRecordedAndHoldsWhatTheJourneyHolds) {
  v1::ExportCustomerDataRequest r;
  r.set_customer_id(customer_);
  r.set_reason("DSR-2026-115");
  auto exported = service_->ExportCustomerData(inv_, r);
  ASSERT_OK(exported);
  EXPECT_FALSE(exported->erased());
  EXPECT_TRUE(HasIdShape(exported->export_id(), "exp")) << exported->export_id();
  EXPECT_NE(exported->document().find("Henrietta Oyelaran"), std::string::npos)
      << exported->document();
  EXPECT_NE(exported->document().find(exported->export_id()), std::string::npos);
  ASSERT_EQ(Recorded(), 1u);

  ASSERT_OK(service_->EraseCustomer(inv_, Erase("req-1")));
  journey_calls_ = 0;
  auto after = service_->ExportCustomerData(inv_, r);
  ASSERT_OK(after);
  EXPECT_TRUE(after->erased());
  EXPECT_TRUE(after->has_erased_at());
  EXPECT_EQ(after->document().find("Henrietta"), std::string::npos);
  EXPECT_NE(after->document().find("\"erased\":true"), std::string::npos) << after->document();
  EXPECT_EQ(journey_calls_, 0) << "nothing is gathered for an erased customer";

  r.set_customer_id(NewId("cus"));
  EXPECT_EQ(service_->ExportCustomerData(inv_, r).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace threadline::privacy
