#pragma once

// The vertical slice, written once and run against two deployments:
// one process on the embedded bus, and sales and journey as separate
// processes on a real Kafka broker.

#include <csignal>

#include "suite_process.h"

namespace threadline::testing {

class SliceDeployment {
 public:
  virtual ~SliceDeployment() = default;
  virtual SuiteProcess& sales() = 0;
  virtual SuiteProcess& journey() = 0;
};

inline v1::RegisterCustomerRequest NewCustomer(const std::string& request_id,
                                               const std::string& phone) {
  v1::RegisterCustomerRequest r;
  r.set_request_id(request_id);
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_name("Anna de Vries");
  r.add_phone_numbers(phone);
  r.set_preferred_channel(v1::CHANNEL_SMS);
  return r;
}

inline std::vector<v1::TimelineEntry> Timeline(SuiteProcess& journey, const std::string& customer,
                                               const std::string& token = "") {
  v1::GetTimelineRequest r;
  r.set_customer_id(customer);
  r.set_page_size(500);
  v1::GetTimelineResponse resp;
  auto s = journey.Journey()->GetTimeline(Ctx(token).get(), r, &resp);
  if (!s.ok()) return {};
  return {resp.entries().begin(), resp.entries().end()};
}

// RegisterCustomer -> stored -> relayed -> projected -> GetTimeline.
inline void RegisterReachesTheTimeline(SliceDeployment& d) {
  v1::RegisterCustomerResponse resp;
  auto s = d.sales().Sales()->RegisterCustomer(Ctx().get(), NewCustomer("slice-1", "+31611111111"),
                                               &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_FALSE(resp.customer_id().empty());
  EXPECT_EQ(resp.ack().version(), 1u);
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(WaitFor([&] {
    entries = Timeline(d.journey(), resp.customer_id());
    return !entries.empty();
  })) << d.journey().Log();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].kind(), "CustomerRegistered");
  EXPECT_EQ(entries[0].event_id(), resp.ack().event_ids(0));
  EXPECT_EQ(entries[0].channel(), v1::CHANNEL_PHONE);
}

// kill -9 right after the answer: the event survives and reaches the
// journey exactly once.
inline void SurvivesKillNineRightAfterTheAnswer(SliceDeployment& d) {
  v1::RegisterCustomerResponse resp;
  auto s = d.sales().Sales()->RegisterCustomer(Ctx().get(), NewCustomer("slice-kill", "+31622222222"),
                                               &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  d.sales().Kill(SIGKILL);
  d.sales().Restart();
  // A second command on the same customer shares its partition: once it is
  // on the timeline, everything before it has been projected.
  v1::LogContactRequest contact;
  contact.set_request_id("slice-kill-contact");
  contact.set_channel(v1::CHANNEL_PHONE);
  contact.set_customer_id(resp.customer_id());
  contact.set_direction(v1::CONTACT_DIRECTION_INBOUND);
  contact.set_outcome("asked about installation date");
  v1::LogContactResponse contact_resp;
  s = d.sales().Sales()->LogContact(Ctx().get(), contact, &contact_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(contact_resp.ack().version(), 2u);  // the registration survived
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(WaitFor([&] {
    entries = Timeline(d.journey(), resp.customer_id());
    return std::any_of(entries.begin(), entries.end(),
                       [](const auto& e) { return e.kind() == "ContactLogged"; });
  })) << d.sales().Log();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].kind(), "CustomerRegistered");
  EXPECT_EQ(entries[0].event_id(), resp.ack().event_ids(0));
}

// A retried request_id answers the first result and appends nothing.
inline void RetryReturnsTheFirstAnswer(SliceDeployment& d) {
  auto req = NewCustomer("slice-retry", "+31633333333");
  v1::RegisterCustomerResponse first, second;
  ASSERT_TRUE(d.sales().Sales()->RegisterCustomer(Ctx().get(), req, &first).ok());
  ASSERT_TRUE(d.sales().Sales()->RegisterCustomer(Ctx().get(), req, &second).ok());
  EXPECT_EQ(first.customer_id(), second.customer_id());
  EXPECT_FALSE(first.ack().replayed());
  EXPECT_TRUE(second.ack().replayed());
  EXPECT_EQ(first.ack().event_ids(0), second.ack().event_ids(0));
  // The same phone for a different request is someone else's number.
  auto other = NewCustomer("slice-retry-2", "+31 6 3333 3333");
  v1::RegisterCustomerResponse third;
  auto s = d.sales().Sales()->RegisterCustomer(Ctx().get(), other, &third);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(s.error_message().find(first.customer_id()), std::string::npos) << s.error_message();
}

inline void BadInputNamesTheField(SliceDeployment& d) {
  auto req = NewCustomer("slice-bad", "not a phone");
  v1::RegisterCustomerResponse resp;
  auto s = d.sales().Sales()->RegisterCustomer(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("phone_numbers[0]"), std::string::npos) << s.error_message();
  req = NewCustomer("", "+31644444444");
  s = d.sales().Sales()->RegisterCustomer(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("request_id"), std::string::npos) << s.error_message();
  v1::GetTimelineRequest tr;
  tr.set_customer_id("robert'); DROP TABLE");
  v1::GetTimelineResponse tresp;
  s = d.journey().Journey()->GetTimeline(Ctx().get(), tr, &tresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("customer_id"), std::string::npos) << s.error_message();
}

}  // namespace threadline::testing
