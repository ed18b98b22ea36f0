// BillingService through an in-process gRPC server on loopback, with tokens
// so that the caller's role reaches the credit policy. Accounts come from
// the sales reaction, applied here as the reactor would.

#include "threadline/billing/service.h"

#include <grpcpp/grpcpp.h>

#include <fstream>

#include "threadline/command/testing.h"
#include "threadline/domain/test_context.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/testing.h"

namespace threadline::billing {
namespace {

using ::threadline::domain::TestId;
using ::threadline::testing::TempDir;

constexpr char kBillingToken[] = "billing-token-0123456789";
constexpr char kSupervisorToken[] = "supervisor-token-0123456789";

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
const std::string kCustomer = TestId("cus", 900);
const std::string kOrder = TestId("ord", 100);
const std::string kRouter = TestId("itm", 101);
const std::string kLine = TestId("itm", 102);

v1::Money Eur(int64_t minor) {
  v1::Money m;
  m.set_amount_minor(minor);
  m.set_currency("EUR");
  return m;
}

// A router shipped at once (active) and a line that waits for the installer.
v1::EventEnvelope OrderPlaced() {
  v1::EventEnvelope e;
  e.set_event_id("evt-order");
  e.set_customer_id(kCustomer);
  auto* p = e.mutable_order_placed();
  p->set_order_id(kOrder);
  auto* router = p->add_items();
  router->set_item_id(kRouter);
  router->set_sku("RTR-1");
  router->set_description("Router");
  *router->mutable_one_off_price() = Eur(9900);
  auto* line = p->add_items();
  line->set_item_id(kLine);
  line->set_sku("LINE-FTTH");
  line->set_description("Fibre line");
  *line->mutable_monthly_price() = Eur(3500);
  line->set_needs_installation(true);
  return e;
}

class BillingGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "billing", v1::DEPARTMENT_BILLING,
                                                  &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<BillingService>(env_);
    grpc_ = NewBillingGrpc(service_.get());
    std::string tokens = (dir_.path() / "tokens").string();
    std::ofstream(tokens) << kBillingToken << " bea billing\n"
                          << kSupervisorToken << " sam supervisor\n";
    auto server = command::testing::TestServer::Start(grpc_.get(), tokens);
    ASSERT_OK(server);
    server_ = std::move(*server);
    stub_ = v1::BillingService::NewStub(server_->channel());
    // What the reactor does with sales' OrderPlaced.
    auto reactions = NewSalesReaction(env_)(OrderPlaced());
    ASSERT_OK(reactions);
    ASSERT_OK(command::ApplyReactions(env_, "billing.test", OrderPlaced(), *reactions));
  }

  // What command::Reactor does with a reaction's answer.
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = kBillingToken) {
    return command::testing::Ctx(token);
  }

  v1::Account Account() {
    v1::GetAccountRequest r;
    r.set_customer_id(kCustomer);
    v1::Account account;
    auto s = stub_->GetAccount(Ctx().get(), r, &account);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return account;
  }

  v1::IssueInvoiceRequest Invoice(const std::string& request_id) {
    v1::IssueInvoiceRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_SYSTEM);
    r.set_customer_id(kCustomer);
    *r.mutable_period()->mutable_start() = domain::ToProto(kT0);
    *r.mutable_period()->mutable_end() = domain::ToProto(kT0 + std::chrono::hours(24 * 30));
    return r;
  }

  v1::GrantCreditRequest Credit(const std::string& request_id, int64_t minor) {
    v1::GrantCreditRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(kCustomer);
    *r.mutable_amount() = Eur(minor);
    r.set_reason("installer missed the appointment");
    return r;
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<BillingService> service_;
  std::unique_ptr<grpc::Service> grpc_;
  std::unique_ptr<command::testing::TestServer> server_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

TEST_F(BillingGrpcTest, InvoiceBillsOnlyWhatWasDeliveredAndPaymentsLowerTheBalance) {
  v1::Account account = Account();
  ASSERT_EQ(account.charges_size(), 2);
  EXPECT_EQ(account.charges(0).status(), v1::CHARGE_STATUS_ACTIVE);
  EXPECT_EQ(account.charges(1).status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ(account.charges(1).hold_reason(), kAwaitingInstallation);

  v1::IssueInvoiceResponse invoice;
  auto s = stub_->IssueInvoice(Ctx().get(), Invoice("inv-1"), &invoice);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(invoice.total().amount_minor(), 9900);  // the router; the line is held
  EXPECT_FALSE(invoice.invoice_id().empty());

  v1::RecordPaymentRequest pay;
  pay.set_request_id("pay-1");
  pay.set_channel(v1::CHANNEL_WEB);
  pay.set_customer_id(kCustomer);
  *pay.mutable_amount() = Eur(9900);
  pay.set_invoice_id(invoice.invoice_id());
  v1::RecordPaymentResponse paid;
  s = stub_->RecordPayment(Ctx().get(), pay, &paid);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(paid.payment_id().empty());
  account = Account();
  EXPECT_EQ(account.balance().amount_minor(), 0);
  ASSERT_EQ(account.invoices_size(), 1);
  ASSERT_EQ(account.invoices(0).lines_size(), 1);
  EXPECT_EQ(account.invoices(0).lines(0).charge_id(), account.charges(0).charge_id());

  // Nothing left to bill: refused rather than an invoice of 0.00.
  v1::IssueInvoiceResponse empty;
  s = stub_->IssueInvoice(Ctx().get(), Invoice("inv-2"), &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(BillingGrpcTest, CreditsFollowTheCallersRole) {
  // Within billing's limit: applied at once.
  v1::GrantCreditResponse small;
  auto s = stub_->GrantCredit(Ctx().get(), Credit("cr-1", 1000), &small);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(small.status(), v1::CREDIT_STATUS_APPLIED);
  // Above it: waits for someone who may approve.
  v1::GrantCreditResponse large;
  s = stub_->GrantCredit(Ctx().get(), Credit("cr-2", 6000), &large);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(large.status(), v1::CREDIT_STATUS_PENDING_APPROVAL);
  EXPECT_EQ(Account().balance().amount_minor(), -1000);

  v1::ApproveCreditRequest approve;
  approve.set_request_id("ap-1");
  approve.set_channel(v1::CHANNEL_PHONE);
  approve.set_customer_id(kCustomer);
  approve.set_credit_id(large.credit_id());
  v1::ApproveCreditResponse approved;
  s = stub_->ApproveCredit(Ctx().get(), approve, &approved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("supervisor"), std::string::npos) << s.error_message();
  approve.set_request_id("ap-2");
  s = stub_->ApproveCredit(Ctx(kSupervisorToken).get(), approve, &approved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::Account account = Account();
  EXPECT_EQ(account.balance().amount_minor(), -7000);
  ASSERT_EQ(account.credits_size(), 2);
  EXPECT_EQ(account.credits(0).granted_by(), "bea");
}

TEST_F(BillingGrpcTest, RetriedRequestAnswersTheFirstResultAndAppendsNothing) {
  v1::IssueInvoiceResponse first, second;
  auto s = stub_->IssueInvoice(Ctx().get(), Invoice("inv-1"), &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto before = store_->Checksum();
  ASSERT_OK(before);
  s = stub_->IssueInvoice(Ctx().get(), Invoice("inv-1"), &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(second.ack().replayed());
  EXPECT_EQ(second.invoice_id(), first.invoice_id());
  EXPECT_EQ(second.total().amount_minor(), first.total().amount_minor());
  EXPECT_EQ(*store_->Checksum(), *before);
  // The same OrderPlaced again, decided afresh (not replayed by the
  // reactor's key), schedules nothing and writes nothing.
  auto again = NewSalesReaction(env_)(OrderPlaced());
  ASSERT_OK(again);
  ASSERT_EQ(again->size(), 1u);
  auto applied = command::ApplyReactions(env_, "fresh-consumer", OrderPlaced(), std::move(*again));
  ASSERT_OK(applied);
  EXPECT_EQ(applied->appended, 0u);
  EXPECT_EQ(applied->replayed, 0u);
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(BillingGrpcTest, StaleExpectedVersionIsAborted) {
  auto r = Credit("cr-1", 500);
  r.set_expected_version(0);
  v1::GrantCreditResponse resp;
  auto s = stub_->GrantCredit(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  r.set_expected_version(Account().version());
  s = stub_->GrantCredit(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(BillingGrpcTest, InvalidInputNamesTheFieldAndChangesNothing) {
  auto before = store_->Checksum();
  ASSERT_OK(before);
  auto bad_customer = Invoice("inv-1");
  bad_customer.set_customer_id("42");
  v1::IssueInvoiceResponse invoice;
  auto s = stub_->IssueInvoice(Ctx().get(), bad_customer, &invoice);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("customer_id"), std::string::npos) << s.error_message();

  v1::GrantCreditResponse credit;
  s = stub_->GrantCredit(Ctx().get(), Credit("cr-0", 0), &credit);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("amount"), std::string::npos) << s.error_message();

  auto no_period = Invoice("inv-2");
  no_period.clear_period();
  s = stub_->IssueInvoice(Ctx().get(), no_period, &invoice);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("period"), std::string::npos) << s.error_message();
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(BillingGrpcTest, UnknownAccountIsNotFound) {
  const std::string stranger = TestId("cus", 4242);
  v1::GetAccountRequest get;
  get.set_customer_id(stranger);
  v1::Account account;
  auto s = stub_->GetAccount(Ctx().get(), get, &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_NE(s.error_message().find(stranger), std::string::npos) << s.error_message();
  auto r = Invoice("inv-x");
  r.set_customer_id(stranger);
  v1::IssueInvoiceResponse invoice;
  s = stub_->IssueInvoice(Ctx().get(), r, &invoice);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

}  // namespace
}  // namespace threadline::billing
