// SupportService through an in-process gRPC server on loopback.

#include "threadline/support/service.h"

#include <grpcpp/grpcpp.h>

#include "threadline/command/testing.h"
#include "threadline/domain/domain.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/testing.h"

namespace threadline::support {
namespace {

using ::threadline::command::testing::Ctx;
using ::threadline::testing::TempDir;

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
constexpr char kCustomer[] = "cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kOther[] = "cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb";

class SupportGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "support", v1::DEPARTMENT_SUPPORT,
                                                  &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    service_ = std::make_unique<SupportService>(d->env);
    grpc_ = NewSupportGrpc(service_.get());
    auto server = command::testing::TestServer::Start(grpc_.get());
    ASSERT_OK(server);
    server_ = std::move(*server);
    stub_ = v1::SupportService::NewStub(server_->channel());
  }

  v1::OpenTicketRequest OpenRequest(const std::string& request_id) {
    v1::OpenTicketRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(kCustomer);
    r.set_category(v1::TICKET_CATEGORY_COMPLAINT);
    r.set_priority(v1::TICKET_PRIORITY_NORMAL);
    r.set_subject("Broadband not set up");
    return r;
  }
  std::string Open(const std::string& request_id) {
    v1::OpenTicketResponse resp;
    auto s = stub_->OpenTicket(Ctx().get(), OpenRequest(request_id), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.ticket_id();
  }
  v1::RecordMissedCallRequest MissedCall(const std::string& request_id, const std::string& number) {
    v1::RecordMissedCallRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_caller_number(number);
    r.set_line("support");
    return r;
  }
  v1::Ticket Get(const std::string& ticket_id) {
    v1::GetTicketRequest r;
    r.set_ticket_id(ticket_id);
    v1::Ticket t;
    auto s = stub_->GetTicket(Ctx().get(), r, &t);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return t;
  }
  // Index entries (values) of `index`.
  std::vector<std::string> Entries(const std::string& index) {
    auto claims = store_->ScanClaims(index, "", 100);
    EXPECT_OK(claims);
    std::vector<std::string> values;
    for (const auto& [value, owner] : *claims) values.push_back(value);
    return values;
  }
  void Know(const std::string& e164, const std::string& customer) {
    eventstore::AppendRequest a;
    a.stream = "test-directory";
    a.claims.push_back({"dir_phone", e164 + "/" + customer, customer});
    ASSERT_OK(store_->Append(std::move(a)));
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<SupportService> service_;
  std::unique_ptr<grpc::Service> grpc_;
  std::unique_ptr<command::testing::TestServer> server_;
  std::unique_ptr<v1::SupportService::Stub> stub_;
};

TEST_F(SupportGrpcTest, OpenTicketAnswersIdAndDueTimeAndStoresAStampedEvent) {
  v1::OpenTicketResponse resp;
  auto s = stub_->OpenTicket(Ctx().get(), OpenRequest("o1"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(domain::FromProto(resp.sla_due_at()), kT0 + std::chrono::hours(24));
  EXPECT_EQ(resp.ack().version(), 1u);
  auto events = store_->ReadStream("ticket-" + resp.ticket_id());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& e = (*events)[0];
  EXPECT_EQ(e.customer_id(), kCustomer);
  EXPECT_EQ(e.department(), v1::DEPARTMENT_SUPPORT);
  EXPECT_EQ(e.aggregate_type(), "ticket");
  EXPECT_EQ(e.causation_id(), "o1");
  EXPECT_EQ(e.event_id(), resp.ack().event_ids(0));
  v1::Ticket t = Get(resp.ticket_id());
  EXPECT_EQ(t.status(), v1::TICKET_STATUS_OPEN);
  EXPECT_EQ(t.tier(), v1::SUPPORT_TIER_L1);
  EXPECT_EQ(t.customer_id(), kCustomer);
  EXPECT_EQ(Entries("open_ticket").size(), 1u);
}

TEST_F(SupportGrpcTest, EveryTicketCommandKeepsTheDeadlineIndexInStep) {
  std::string ticket = Open("o1");
  {
    v1::AddInteractionRequest r;
    r.set_request_id("i1");
    r.set_channel(v1::CHANNEL_EMAIL);
    r.set_ticket_id(ticket);
    r.set_note("Customer says the router was never configured");
    r.set_from_customer(true);
    v1::AddInteractionResponse resp;
    auto s = stub_->AddInteraction(Ctx().get(), r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.ack().version(), 2u);
  }
  {
    v1::AssignTicketRequest r;
    r.set_request_id("a1");
    r.set_channel(v1::CHANNEL_SYSTEM);
    r.set_ticket_id(ticket);
    r.set_team("broadband");
    r.set_agent("jan");
    v1::AssignTicketResponse resp;
    auto s = stub_->AssignTicket(Ctx().get(), r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const auto before = Entries("open_ticket");
  clock_.Advance(std::chrono::hours(1));
  {
    // A first-level agent goes straight to a supervisor; nobody approves.
    v1::EscalateTicketRequest r;
    r.set_request_id("e1");
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_ticket_id(ticket);
    r.set_to_tier(v1::SUPPORT_TIER_SUPERVISOR);
    r.set_reason("customer wants to cancel");
    v1::EscalateTicketResponse resp;
    auto s = stub_->EscalateTicket(Ctx().get(), r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  v1::Ticket t = Get(ticket);
  EXPECT_EQ(t.tier(), v1::SUPPORT_TIER_SUPERVISOR);
  EXPECT_EQ(t.agent(), "jan");
  EXPECT_EQ(domain::FromProto(t.sla_due_at()), kT0 + std::chrono::hours(5));
  auto after = Entries("open_ticket");
  ASSERT_EQ(after.size(), 1u);  // the earlier deadline is gone
  EXPECT_NE(after, before);
  {
    v1::ResolveTicketRequest r;
    r.set_request_id("r1");
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_ticket_id(ticket);
    r.set_resolution("router configured remotely");
    v1::ResolveTicketResponse resp;
    auto s = stub_->ResolveTicket(Ctx().get(), r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(Get(ticket).status(), v1::TICKET_STATUS_RESOLVED);
  EXPECT_TRUE(Entries("open_ticket").empty());
  {
    v1::ReopenTicketRequest r;
    r.set_request_id("re1");
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_ticket_id(ticket);
    r.set_reason("stopped working again");
    v1::ReopenTicketResponse resp;
    auto s = stub_->ReopenTicket(Ctx().get(), r, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.ack().version(), 6u);
  }
  t = Get(ticket);
  EXPECT_EQ(t.status(), v1::TICKET_STATUS_OPEN);
  EXPECT_EQ(t.version(), 6u);
  EXPECT_EQ(Entries("open_ticket").size(), 1u);
}

TEST_F(SupportGrpcTest, RetriedCommandsAnswerTheSameAndAppendNothing) {
  v1::OpenTicketResponse first, again;
  ASSERT_TRUE(stub_->OpenTicket(Ctx().get(), OpenRequest("o1"), &first).ok());
  auto before = store_->Checksum();
  ASSERT_OK(before);
  auto s = stub_->OpenTicket(Ctx().get(), OpenRequest("o1"), &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.ticket_id(), first.ticket_id());
  EXPECT_EQ(again.ack().event_ids(0), first.ack().event_ids(0));
  EXPECT_TRUE(again.ack().replayed());
  EXPECT_EQ(*store_->Checksum(), *before);

  v1::RecordMissedCallResponse call, call_again;
  ASSERT_TRUE(stub_->RecordMissedCall(Ctx().get(), MissedCall("m1", "+31612345678"), &call).ok());
  before = store_->Checksum();
  s = stub_->RecordMissedCall(Ctx().get(), MissedCall("m1", "+31612345678"), &call_again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(call_again.callback_id(), call.callback_id());
  EXPECT_EQ(*store_->Checksum(), *before);

  v1::ResolveTicketRequest r;
  r.set_request_id("r1");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_ticket_id(first.ticket_id());
  r.set_resolution("done");
  v1::ResolveTicketResponse resolved, resolved_again;
  ASSERT_TRUE(stub_->ResolveTicket(Ctx().get(), r, &resolved).ok());
  before = store_->Checksum();
  s = stub_->ResolveTicket(Ctx().get(), r, &resolved_again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resolved_again.ack().version(), resolved.ack().version());
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(SupportGrpcTest, StaleExpectedVersionIsAborted) {
  std::string ticket = Open("o1");
  v1::AddInteractionRequest r;
  r.set_request_id("i1");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_ticket_id(ticket);
  r.set_note("called back");
  r.set_expected_version(0);
  v1::AddInteractionResponse resp;
  auto s = stub_->AddInteraction(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  r.set_expected_version(1);
  s = stub_->AddInteraction(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(SupportGrpcTest, BadInputNamesTheFieldAndChangesNothing) {
  Open("o1");
  auto before = store_->Checksum();
  ASSERT_OK(before);
  auto r = OpenRequest("o2");
  r.set_customer_id("42");
  v1::OpenTicketResponse resp;
  auto s = stub_->OpenTicket(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("customer_id"), std::string::npos) << s.error_message();

  v1::RecordMissedCallResponse call;
  s = stub_->RecordMissedCall(Ctx().get(), MissedCall("m1", "06 1234 5678"), &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("caller_number"), std::string::npos) << s.error_message();

  v1::EscalateTicketRequest e;
  e.set_request_id("e1");
  e.set_channel(v1::CHANNEL_PHONE);
  e.set_ticket_id("tkt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  e.set_reason("help");
  v1::EscalateTicketResponse escalated;
  s = stub_->EscalateTicket(Ctx().get(), e, &escalated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("to_tier"), std::string::npos) << s.error_message();

  v1::CompleteCallbackRequest c;
  c.set_request_id("c1");
  c.set_channel(v1::CHANNEL_PHONE);
  c.set_callback_id("tkt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  v1::CompleteCallbackResponse completed;
  s = stub_->CompleteCallback(Ctx().get(), c, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("callback_id"), std::string::npos) << s.error_message();
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(SupportGrpcTest, UnknownTicketsAndCallbacksAreNotFound) {
  v1::GetTicketRequest g;
  g.set_ticket_id("tkt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  v1::Ticket t;
  auto s = stub_->GetTicket(Ctx().get(), g, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  g.set_ticket_id("nonsense");
  s = stub_->GetTicket(Ctx().get(), g, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  v1::AddInteractionRequest a;
  a.set_request_id("i1");
  a.set_channel(v1::CHANNEL_PHONE);
  a.set_ticket_id("tkt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  a.set_note("hello");
  v1::AddInteractionResponse added;
  s = stub_->AddInteraction(Ctx().get(), a, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  v1::CompleteCallbackRequest c;
  c.set_request_id("c1");
  c.set_channel(v1::CHANNEL_PHONE);
  c.set_callback_id("cb_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  c.set_reached(true);
  v1::CompleteCallbackResponse completed;
  s = stub_->CompleteCallback(Ctx().get(), c, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

TEST_F(SupportGrpcTest, MissedCallIsAttachedWhenTheDirectoryKnowsTheNumberAndOnlyThen) {
  Know("+31612345678", kCustomer);
  Know("+31201234567", kCustomer);
  Know("+31201234567", kOther);  // a shared landline

  v1::RecordMissedCallResponse known;
  auto s = stub_->RecordMissedCall(Ctx().get(), MissedCall("m1", "+31 (0)6 1234-5678"), &known);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(known.customer_id(), kCustomer);
  EXPECT_EQ(domain::FromProto(known.sla_due_at()), kT0 + std::chrono::hours(2));
  auto events = store_->ReadStream("callback-" + known.callback_id());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].customer_id(), kCustomer);
  EXPECT_EQ((*events)[0].missed_call_recorded().caller_number(), "+31612345678");

  v1::RecordMissedCallResponse shared, unknown;
  ASSERT_TRUE(stub_->RecordMissedCall(Ctx().get(), MissedCall("m2", "+31201234567"), &shared).ok());
  EXPECT_EQ(shared.customer_id(), "");
  ASSERT_TRUE(
      stub_->RecordMissedCall(Ctx().get(), MissedCall("m3", "0049 151 1111 2222"), &unknown).ok());
  EXPECT_EQ(unknown.customer_id(), "");
  EXPECT_EQ(Entries("pending_missed_call"),
            (std::vector<std::string>{"+31201234567/" + shared.callback_id(),
                                      "+4915111112222/" + unknown.callback_id()}));
  EXPECT_EQ(Entries("open_callback").size(), 3u);
}

TEST_F(SupportGrpcTest, ScheduledCallbackIsCompletedOnceWithANoteWhenNotReached) {
  v1::ScheduleCallbackRequest r;
  r.set_request_id("s1");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_customer_id(kCustomer);
  r.set_phone_number("+31612345678");
  *r.mutable_due_at() = domain::ToProto(kT0 + std::chrono::hours(3));
  r.set_reason("confirm the installation date");
  v1::ScheduleCallbackResponse scheduled;
  auto s = stub_->ScheduleCallback(Ctx().get(), r, &scheduled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Entries("open_callback").size(), 1u);

  v1::CompleteCallbackRequest c;
  c.set_request_id("c1");
  c.set_channel(v1::CHANNEL_PHONE);
  c.set_callback_id(scheduled.callback_id());
  c.set_reached(false);
  v1::CompleteCallbackResponse completed;
  s = stub_->CompleteCallback(Ctx().get(), c, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("note"), std::string::npos) << s.error_message();
  c.set_note("voicemail left, SMS sent");
  s = stub_->CompleteCallback(Ctx().get(), c, &completed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(completed.ack().version(), 2u);
  EXPECT_TRUE(Entries("open_callback").empty());
  auto events = store_->ReadStream("callback-" + scheduled.callback_id());
  ASSERT_OK(events);
  EXPECT_EQ(events->back().customer_id(), kCustomer);

  c.set_request_id("c2");
  s = stub_->CompleteCallback(Ctx().get(), c, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

}  // namespace
}  // namespace threadline::support
