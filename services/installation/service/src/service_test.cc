// InstallationService through an in-process gRPC server on loopback. Work
// orders come from the sales reaction, called directly with an OrderPlaced.

#include "threadline/installation/service.h"

#include <grpcpp/grpcpp.h>

#include "threadline/command/testing.h"
#include "threadline/domain/test_context.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/testing.h"

namespace threadline::installation {
namespace {

using ::threadline::command::testing::Ctx;
using ::threadline::domain::TestId;
using ::threadline::testing::TempDir;

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
const std::string kCustomer = TestId("cus", 900);
const std::string kOrder = TestId("ord", 100);
const std::string kLine = TestId("itm", 101);
const std::string kBroadband = TestId("itm", 102);
const std::string kFullInstall = TestId("cmt", 103);

google::protobuf::Timestamp At(std::chrono::hours h) { return domain::ToProto(kT0 + h); }

v1::EventEnvelope OrderPlaced(const std::string& event_id, const std::string& order_id) {
  v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_customer_id(kCustomer);
  e.set_correlation_id("corr-" + event_id);
  auto* p = e.mutable_order_placed();
  p->set_order_id(order_id);
  auto add = [&](const std::string& id, const char* sku, const char* text) {
    auto* item = p->add_items();
    item->set_item_id(id);
    item->set_sku(sku);
    item->set_description(text);
    item->set_needs_installation(true);
  };
  add(kLine, "LINE-FTTH", "Fibre line");
  add(kBroadband, "BB-1000", "Broadband configuration");
  auto* c = p->add_commitments();
  c->set_commitment_id(kFullInstall);
  c->set_text("full installation including broadband configuration");
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  return e;
}

class InstallationGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "installation",
                                                  v1::DEPARTMENT_INSTALLATION, &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<InstallationService>(env_);
    grpc_ = NewInstallationGrpc(service_.get());
    auto server = command::testing::TestServer::Start(grpc_.get());
    ASSERT_OK(server);
    server_ = std::move(*server);
    stub_ = v1::InstallationService::NewStub(server_->channel());
    work_order_id_ = CreateWorkOrder("evt-1", kOrder);
  }
  // What the reactor does with sales' OrderPlaced.
  std::string CreateWorkOrder(const std::string& event_id, const std::string& order_id) {
    auto order = OrderPlaced(event_id, order_id);
    auto reactions = NewSalesReaction(env_)(order);
    EXPECT_OK(reactions);
    if (reactions.ok()) {
      EXPECT_OK(command::ApplyReactions(env_, "installation.test", order, *reactions));
    }
    auto claims = store_->ScanClaims(kWorkOrdersByOrder, order_id + "/", 10);
    EXPECT_OK(claims);
    return claims.ok() && claims->size() == 1 ? claims->front().second : "";
  }

  v1::ProposeAppointmentRequest Proposal(const std::string& request_id) {
    v1::ProposeAppointmentRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_SMS);
    r.set_work_order_id(work_order_id_);
    *r.mutable_slot()->mutable_start() = At(std::chrono::hours(26));
    *r.mutable_slot()->mutable_end() = At(std::chrono::hours(28));
    return r;
  }

  v1::WorkOrder Get() {
    v1::GetWorkOrderRequest r;
    r.set_work_order_id(work_order_id_);
    v1::WorkOrder wo;
    auto s = stub_->GetWorkOrder(Ctx().get(), r, &wo);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return wo;
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<InstallationService> service_;
  std::unique_ptr<grpc::Service> grpc_;
  std::unique_ptr<command::testing::TestServer> server_;
  std::unique_ptr<v1::InstallationService::Stub> stub_;
  std::string work_order_id_;
};

TEST_F(InstallationGrpcTest, WorkOrderFromOrderIsScheduledAndCompletedItemByItem) {
  ASSERT_FALSE(work_order_id_.empty());
  // Listed by order and by customer, with the scope and promise sales made.
  for (bool by_order : {true, false}) {
    v1::ListWorkOrdersRequest list;
    if (by_order) list.set_order_id(kOrder);
    if (!by_order) list.set_customer_id(kCustomer);
    v1::ListWorkOrdersResponse listed;
    auto s = stub_->ListWorkOrders(Ctx().get(), list, &listed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(listed.work_orders_size(), 1);
    const auto& wo = listed.work_orders(0);
    EXPECT_EQ(wo.work_order_id(), work_order_id_);
    EXPECT_EQ(wo.customer_id(), kCustomer);
    EXPECT_EQ(wo.status(), v1::WORK_ORDER_STATUS_OPEN);
    ASSERT_EQ(wo.scope_size(), 2);
    ASSERT_EQ(wo.commitments_size(), 1);
    EXPECT_EQ(wo.commitments(0).commitment_id(), kFullInstall);
  }

  v1::ProposeAppointmentResponse proposed;
  auto s = stub_->ProposeAppointment(Ctx().get(), Proposal("p1"), &proposed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(proposed.appointment_id().empty());
  EXPECT_EQ(proposed.ack().version(), 2u);
  EXPECT_EQ(Get().status(), v1::WORK_ORDER_STATUS_OPEN);  // not binding yet

  v1::ConfirmAppointmentRequest confirm;
  confirm.set_request_id("c1");
  confirm.set_channel(v1::CHANNEL_SMS);
  confirm.set_work_order_id(work_order_id_);
  confirm.set_appointment_id(proposed.appointment_id());
  v1::ConfirmAppointmentResponse confirmed;
  s = stub_->ConfirmAppointment(Ctx().get(), confirm, &confirmed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Get().status(), v1::WORK_ORDER_STATUS_SCHEDULED);

  v1::AssignTechnicianRequest assign;
  assign.set_request_id("t1");
  assign.set_channel(v1::CHANNEL_SYSTEM);
  assign.set_work_order_id(work_order_id_);
  assign.set_technician_id("tech-7");
  assign.set_technician_name("Kees");
  v1::AssignTechnicianResponse assigned;
  s = stub_->AssignTechnician(Ctx().get(), assign, &assigned);
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::CompleteInstallationRequest done;
  done.set_request_id("done-1");
  done.set_channel(v1::CHANNEL_FIELD);
  done.set_work_order_id(work_order_id_);
  done.add_delivered()->set_item_id(kLine);
  auto* nd = done.add_not_delivered();
  nd->set_item_id(kBroadband);
  nd->set_reason("router configuration is not part of the line installation");
  v1::CompleteInstallationResponse completed;
  s = stub_->CompleteInstallation(Ctx().get(), done, &completed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(completed.outcome(), v1::COMPLETION_OUTCOME_PARTIAL);

  v1::WorkOrder wo = Get();
  EXPECT_EQ(wo.status(), v1::WORK_ORDER_STATUS_PARTIALLY_COMPLETED);
  EXPECT_EQ(wo.technician_name(), "Kees");
  ASSERT_EQ(wo.commitment_outcomes_size(), 1);
  EXPECT_FALSE(wo.commitment_outcomes(0).kept());
  // The stored event names the customer, so billing and the journey can
  // route it, though the command named only the work order.
  auto events = store_->ReadStream("work_order-" + work_order_id_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 5u);
  const auto& e = events->back();
  ASSERT_TRUE(e.has_installation_completed());
  EXPECT_EQ(e.customer_id(), kCustomer);
  EXPECT_EQ(e.department(), v1::DEPARTMENT_INSTALLATION);
  EXPECT_EQ(e.channel(), v1::CHANNEL_FIELD);
  EXPECT_EQ(e.causation_id(), "done-1");
  EXPECT_EQ(e.installation_completed().order_id(), kOrder);
  // The creating event was stamped like any reaction.
  const auto& created = events->front();
  EXPECT_EQ(created.causation_id(), "evt-1");
  EXPECT_EQ(created.correlation_id(), "corr-evt-1");
  EXPECT_EQ(created.actor().role(), "system");
}

TEST_F(InstallationGrpcTest, RetriedRequestAnswersTheFirstResultAndAppendsNothing) {
  v1::ProposeAppointmentResponse first, second;
  auto s = stub_->ProposeAppointment(Ctx().get(), Proposal("p1"), &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto before = store_->Checksum();
  ASSERT_OK(before);
  clock_.Advance(std::chrono::minutes(5));
  s = stub_->ProposeAppointment(Ctx().get(), Proposal("p1"), &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(second.ack().replayed());
  EXPECT_EQ(second.appointment_id(), first.appointment_id());
  EXPECT_EQ(second.ack().event_ids(0), first.ack().event_ids(0));
  EXPECT_EQ(*store_->Checksum(), *before);
  // The same OrderPlaced again (another delivery) creates nothing either.
  EXPECT_EQ(CreateWorkOrder("evt-1", kOrder), work_order_id_);
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(InstallationGrpcTest, StaleExpectedVersionIsAborted) {
  auto r = Proposal("p1");
  r.set_expected_version(0);
  v1::ProposeAppointmentResponse resp;
  auto s = stub_->ProposeAppointment(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_NE(s.error_message().find("version 1"), std::string::npos) << s.error_message();
  r.set_expected_version(1);
  s = stub_->ProposeAppointment(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(InstallationGrpcTest, InvalidInputNamesTheFieldAndChangesNothing) {
  auto before = store_->Checksum();
  ASSERT_OK(before);
  auto bad_id = Proposal("p1");
  bad_id.set_work_order_id("42");
  v1::ProposeAppointmentResponse proposed;
  auto s = stub_->ProposeAppointment(Ctx().get(), bad_id, &proposed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("work_order_id"), std::string::npos) << s.error_message();

  v1::CompleteInstallationRequest done;
  done.set_request_id("done-1");
  done.set_channel(v1::CHANNEL_FIELD);
  done.set_work_order_id(work_order_id_);
  done.add_delivered()->set_item_id(kLine);
  done.add_not_delivered()->set_item_id(kBroadband);  // no reason
  v1::CompleteInstallationResponse completed;
  s = stub_->CompleteInstallation(Ctx().get(), done, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("not_delivered[0].reason"), std::string::npos)
      << s.error_message();

  for (int both = 0; both < 2; ++both) {
    v1::ListWorkOrdersRequest list;
    if (both) {
      list.set_customer_id(kCustomer);
      list.set_order_id(kOrder);
    }
    v1::ListWorkOrdersResponse listed;
    s = stub_->ListWorkOrders(Ctx().get(), list, &listed);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("exactly one"), std::string::npos) << s.error_message();
  }
  v1::ListWorkOrdersRequest list;
  list.set_order_id("ord_x");
  v1::ListWorkOrdersResponse listed;
  s = stub_->ListWorkOrders(Ctx().get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("order_id"), std::string::npos) << s.error_message();
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(InstallationGrpcTest, UnknownWorkOrderIsNotFound) {
  const std::string unknown = TestId("wo", 4242);
  v1::GetWorkOrderRequest get;
  get.set_work_order_id(unknown);
  v1::WorkOrder wo;
  auto s = stub_->GetWorkOrder(Ctx().get(), get, &wo);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_NE(s.error_message().find(unknown), std::string::npos) << s.error_message();

  auto r = Proposal("p-unknown");
  r.set_work_order_id(unknown);
  v1::ProposeAppointmentResponse proposed;
  s = stub_->ProposeAppointment(Ctx().get(), r, &proposed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  // An order nobody knows has no work orders: an empty list, not an error.
  v1::ListWorkOrdersRequest list;
  list.set_order_id(TestId("ord", 4242));
  v1::ListWorkOrdersResponse listed;
  s = stub_->ListWorkOrders(Ctx().get(), list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(listed.work_orders_size(), 0);
}

}  // namespace
}  // namespace threadline::installation
