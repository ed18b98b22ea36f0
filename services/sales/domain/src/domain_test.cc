#include "threadline/sales/domain.h"

#include <gmock/gmock.h>

#include "threadline/testing/testing.h"

namespace threadline::sales {
namespace {

using ::testing::HasSubstr;

// Given/When/Then over the pure customer aggregate.
class SalesDomainTest : public ::testing::Test {
 protected:
  SalesDomainTest() {
    ctx_.now = FromUnixMicros(1'760'000'000'000'000);
    ctx_.channel = v1::CHANNEL_PHONE;
    ctx_.new_id = [this](std::string_view prefix) {
      return std::string(prefix) + "_" + std::to_string(++ids_);
    };
  }

  void Given(const domain::Events& events) {
    for (const auto& e : events) Evolve(state_, e);
  }
  template <typename Cmd>
  absl::StatusOr<domain::Events> When(const Cmd& cmd) {
    return Decide(state_, cmd, ctx_);
  }
  absl::StatusOr<domain::Events> When(const v1::RegisterCustomerRequest& cmd) {
    return Decide(state_, cmd, ctx_, "cus_1");
  }

  static v1::RegisterCustomerRequest Registration() {
    v1::RegisterCustomerRequest r;
    r.set_name("Anna de Vries");
    r.add_phone_numbers("+31 6 1234 5678");
    r.add_emails("Anna@Example.org");
    r.set_preferred_channel(v1::CHANNEL_SMS);
    return r;
  }
  void GivenRegistered() {
    auto events = When(Registration());
    ASSERT_OK(events);
    Given(*events);
  }
  static v1::PlaceOrderRequest BroadbandOrder() {
    v1::PlaceOrderRequest r;
    r.set_customer_id("cus_1");
    auto* line = r.add_items();
    line->set_sku("LINE-FTTH");
    line->set_description("Fibre line");
    line->mutable_one_off_price()->set_currency("EUR");
    line->mutable_monthly_price()->set_amount_minor(2000);
    line->mutable_monthly_price()->set_currency("EUR");
    line->set_needs_installation(true);
    r.mutable_requested_installation()->mutable_start()->set_seconds(1'760'500'000);
    r.mutable_requested_installation()->mutable_end()->set_seconds(1'760'510'000);
    auto* c = r.add_commitments();
    c->set_text("full installation including broadband configuration");
    c->set_owner(v1::DEPARTMENT_INSTALLATION);
    c->mutable_due_by()->set_seconds(1'760'600'000);
    return r;
  }

  domain::CommandContext ctx_;
  CustomerState state_;
  int ids_ = 0;
};

TEST_F(SalesDomainTest, RegisterNormalisesContactPoints) {
  auto events = When(Registration());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& p = (*events)[0].customer_registered();
  EXPECT_EQ(p.customer_id(), "cus_1");
  ASSERT_EQ(p.phone_numbers_size(), 1);
  EXPECT_EQ(p.phone_numbers(0), "+31612345678");
  EXPECT_EQ(p.emails(0), "anna@example.org");
}

TEST_F(SalesDomainTest, RegisterRejectsBadInputNamingTheField) {
  auto r = Registration();
  r.set_name("  ");
  EXPECT_THAT(When(r).status().message(), HasSubstr("name"));
  r = Registration();
  r.set_phone_numbers(0, "call me maybe");
  auto s = When(r).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("phone_numbers[0]"));
  r = Registration();
  r.set_emails(0, "not-an-email");
  EXPECT_THAT(When(r).status().message(), HasSubstr("emails[0]"));
  r = Registration();
  r.clear_phone_numbers();
  r.clear_emails();
  EXPECT_EQ(When(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Registration();
  r.set_preferred_channel(v1::CHANNEL_UNSPECIFIED);
  EXPECT_THAT(When(r).status().message(), HasSubstr("preferred_channel"));
  r = Registration();
  r.mutable_address()->set_line1("Main 1");
  r.mutable_address()->set_city("Utrecht");
  r.mutable_address()->set_country("Netherlands");
  EXPECT_THAT(When(r).status().message(), HasSubstr("address.country"));
}

TEST_F(SalesDomainTest, PlaceOrderAssignsIdsAndKeepsCommitments) {
  GivenRegistered();
  auto events = When(BroadbandOrder());
  ASSERT_OK(events);
  const auto& p = (*events)[0].order_placed();
  EXPECT_EQ(p.order_id(), "ord_1");
  EXPECT_EQ(p.items(0).item_id(), "itm_2");
  ASSERT_EQ(p.commitments_size(), 1);
  EXPECT_EQ(p.commitments(0).commitment_id(), "cmt_3");
  EXPECT_EQ(p.commitments(0).owner(), v1::DEPARTMENT_INSTALLATION);
}

TEST_F(SalesDomainTest, PlaceOrderRejections) {
  auto order = BroadbandOrder();
  EXPECT_EQ(When(order).status().code(), absl::StatusCode::kNotFound);
  GivenRegistered();
  order.mutable_items(0)->mutable_monthly_price()->set_amount_minor(-1);
  EXPECT_THAT(When(order).status().message(), HasSubstr("items[0].monthly_price"));
  order = BroadbandOrder();
  order.mutable_items(0)->mutable_monthly_price()->set_currency("XXY");
  EXPECT_THAT(When(order).status().message(), HasSubstr("items[0].monthly_price"));
  order = BroadbandOrder();
  order.clear_requested_installation();
  EXPECT_THAT(When(order).status().message(), HasSubstr("requested_installation"));
  order = BroadbandOrder();
  order.mutable_commitments(0)->set_owner(v1::DEPARTMENT_UNSPECIFIED);
  EXPECT_THAT(When(order).status().message(), HasSubstr("commitments[0].owner"));
  order = BroadbandOrder();
  order.clear_items();
  EXPECT_THAT(When(order).status().message(), HasSubstr("items"));
}

TEST_F(SalesDomainTest, CancelOrderOnlyOnce) {
  GivenRegistered();
  Given(*When(BroadbandOrder()));
  v1::CancelOrderRequest cancel;
  cancel.set_customer_id("cus_1");
  cancel.set_order_id("ord_00000000000000000000000000000000");
  cancel.set_reason("changed mind");
  EXPECT_EQ(When(cancel).status().code(), absl::StatusCode::kNotFound);
  // Orders made with the real id generator have the full id shape.
  state_.orders["ord_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa"] = state_.orders["ord_1"];
  cancel.set_order_id("ord_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  auto events = When(cancel);
  ASSERT_OK(events);
  Given(*events);
  EXPECT_EQ(When(cancel).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SalesDomainTest, SwitchProductHappensWhenItHappened) {
  GivenRegistered();
  v1::SwitchProductRequest sw;
  sw.set_customer_id("cus_1");
  sw.set_from_sku("ZZ");
  sw.set_to_sku("ZZ-2");
  sw.mutable_effective_at()->set_seconds(1'700'000'000);  // two years back
  auto events = When(sw);
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].occurred_at().seconds(), 1'700'000'000);
  Given(*events);
  EXPECT_TRUE(state_.products.count("ZZ-2"));
  sw.set_to_sku("ZZ");
  sw.set_from_sku("ZZ");
  EXPECT_THAT(When(sw).status().message(), HasSubstr("to_sku"));
}

TEST_F(SalesDomainTest, LogContactRecordsTheChannel) {
  GivenRegistered();
  v1::LogContactRequest c;
  c.set_customer_id("cus_1");
  c.set_direction(v1::CONTACT_DIRECTION_OUTBOUND);
  c.set_outcome("offered upgrade");
  auto events = When(c);
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].contact_logged().contact_channel(), v1::CHANNEL_PHONE);
  c.set_direction(static_cast<v1::ContactDirection>(42));
  EXPECT_THAT(When(c).status().message(), HasSubstr("direction"));
}

}  // namespace
}  // namespace threadline::sales
