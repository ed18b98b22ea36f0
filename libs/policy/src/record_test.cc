// PolicyChanged on a real event store: recorded once per change, never for
// the same policy again, with the digest chain an auditor follows.

#include "threadline/policy/record.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "threadline/command/testing.h"
#include "threadline/domain/envelope_check.h"
#include "threadline/domain/validate.h"
#include "threadline/testing/testing.h"

namespace threadline::policy {
namespace {

Policy Parsed(std::string_view yaml) {
  auto p = Policy::Parse(yaml, "policy.yaml");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : Policy::Defaults();
}

class RecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "support", v1::DEPARTMENT_SUPPORT,
                                                  nullptr);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
  }

  std::vector<v1::EventEnvelope> Stream() {
    auto events = store_->ReadStream("policy-support");
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<v1::EventEnvelope>{};
  }

  ::threadline::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
};

TEST_F(RecordTest, TheFirstPolicyIsRecordedWithoutACustomerAndPassesEveryDoorCheck) {
  const Policy p = Parsed("sla:\n  at_risk_at: 0.7\n");
  auto r = RecordPolicy(env_, p, "/etc/threadline/policy.yaml");
  ASSERT_OK(r);
  EXPECT_TRUE(r->appended);
  EXPECT_EQ(r->previous_digest, "");
  EXPECT_EQ(r->version, 1u);
  auto events = Stream();
  ASSERT_EQ(events.size(), 1u);
  const v1::EventEnvelope& e = events[0];
  EXPECT_EQ(e.customer_id(), "");
  EXPECT_EQ(e.aggregate_type(), "policy");
  EXPECT_EQ(e.aggregate_id(), "support");
  EXPECT_EQ(e.department(), v1::DEPARTMENT_SUPPORT);
  EXPECT_EQ(e.channel(), v1::CHANNEL_SYSTEM);
  ASSERT_TRUE(e.has_policy_changed());
  EXPECT_EQ(e.policy_changed().digest(), p.digest());
  EXPECT_EQ(e.policy_changed().source(), p.source());
  EXPECT_EQ(e.policy_changed().file(), "/etc/threadline/policy.yaml");
  EXPECT_EQ(e.policy_changed().previous_digest(), "");
  EXPECT_OK(domain::ValidateEnvelope(e));
  auto last = LastRecorded(*store_, "support");
  ASSERT_OK(last);
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->digest(), p.digest());
}

TEST_F(RecordTest, TheSamePolicyAgainRecordsNothing) {
  const Policy p = Parsed("sla:\n  at_risk_at: 0.7\n");
  ASSERT_OK(RecordPolicy(env_, p, "a.yaml"));
  // Another file with the same text is the same policy.
  auto again = RecordPolicy(env_, Parsed("sla:\n  at_risk_at: 0.7\n"), "b.yaml");
  ASSERT_OK(again);
  EXPECT_FALSE(again->appended);
  EXPECT_EQ(again->previous_digest, p.digest());
  EXPECT_EQ(Stream().size(), 1u);
}

TEST_F(RecordTest, EveryChangeIsRecordedAndAReturnToAnEarlierPolicyToo) {
  const Policy a = Parsed("sla:\n  at_risk_at: 0.7\n");
  const Policy b = Parsed("sla:\n  at_risk_at: 0.9\n");
  for (const Policy* p : {&a, &b, &a, &b}) ASSERT_OK(RecordPolicy(env_, *p, "policy.yaml"));
  auto events = Stream();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].policy_changed().digest(), a.digest());
  EXPECT_EQ(events[1].policy_changed().previous_digest(), a.digest());
  EXPECT_EQ(events[1].policy_changed().digest(), b.digest());
  EXPECT_EQ(events[2].policy_changed().previous_digest(), b.digest());
  EXPECT_EQ(events[2].policy_changed().digest(), a.digest());
  EXPECT_EQ(events[3].policy_changed().digest(), b.digest());
}

TEST_F(RecordTest, TheShippedPolicyIsRecordedWithoutAFile) {
  ASSERT_OK(RecordPolicy(env_, Policy::Defaults(), ""));
  auto events = Stream();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].policy_changed().digest(), Policy::Defaults().digest());
  EXPECT_EQ(events[0].policy_changed().source(), Policy::Defaults().source());
  EXPECT_EQ(events[0].policy_changed().file(), "");
}

TEST_F(RecordTest, ATextTooLongForAnEventIsRecordedByItsDigestAlone) {
  // A valid policy: a comment over the event's bound.
  const std::string text =
      "# " + std::string(domain::kMaxPolicySourceBytes, 'x') + "\nsla:\n  at_risk_at: 0.6\n";
  const Policy p = Parsed(text);
  ASSERT_OK(RecordPolicy(env_, p, "policy.yaml"));
  auto events = Stream();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].policy_changed().digest(), p.digest());
  EXPECT_EQ(events[0].policy_changed().source(), "");
  EXPECT_OK(domain::ValidateEnvelope(events[0]));
}

}  // namespace
}  // namespace threadline::policy
