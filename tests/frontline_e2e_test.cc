// Front-line authority through the real binary (label e2e), with an
// operator's policy file: the person on the phone acts for the customer
// across departments within the policy's limits, and only what exceeds them
// waits for a supervisor. One token per role; every step is a real gRPC
// call over TCP.

#include <fstream>

#include "security_support.h"
#include "threadline/testing/testing.h"

namespace threadline::testing {
namespace {

using grpc::StatusCode;

constexpr char kSupport[] = "frontline-support-token-0123456789";
constexpr char kBilling[] = "frontline-billing-token-0123456789";
constexpr char kSupervisor[] = "frontline-supervisor-token-012345";
constexpr char kSales[] = "frontline-sales-token-0123456789ab";
constexpr char kInstallation[] = "frontline-installation-token-0123";

// The operator's file from the issue that asked for front-line authority:
// an office calendar, two SLA rows and support's rights and limit.
constexpr char kPolicy[] = R"(calendars:
  berlin-office:
    time_zone: Europe/Berlin
    hours:                      # weekdays not listed are closed
      mon: ["08:00-12:00", "13:00-18:00"]
      tue: ["08:00-12:00", "13:00-18:00"]
      wed: ["08:00-12:00", "13:00-18:00"]
      thu: ["08:00-12:00", "13:00-18:00"]
      fri: ["08:00-12:00", "13:00-16:00"]
    holidays: ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"]
sla:
  tickets:
    - category: complaint       # TicketCategory without its prefix, lower case
      priority: high
      first_response: {within: 2h, calendar: berlin-office}
      resolution: {within: 8h, calendar: berlin-office}
    - category: question
      priority: normal
      first_response: {within: 4h}        # no calendar: wall-clock time
      resolution: {within: 3d}
  missed_call_callback: {within: 2h, calendar: berlin-office}
  at_risk_at: 0.8
roles:
  support:
    may: ["SupportService/*", "BillingService/GrantCredit",
          "InstallationService/ProposeAppointment", "InstallationService/ConfirmAppointment",
          "InstallationService/DeclineAppointment", "SalesService/LogContact", "JourneyService/*"]
    credit_limit: {amount_minor: 2000, currency: EUR}
)";

class Frontline : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto tokens = dir_.path() / "tokens";
    WriteTokensFile(tokens, {{kSupport, "support"},
                             {kBilling, "billing"},
                             {kSupervisor, "supervisor"},
                             {kSales, "sales"},
                             {kInstallation, "installation"}});
    const auto policy = dir_.path() / "policy.yaml";
    std::ofstream(policy) << kPolicy;
    suite_ =
        std::make_unique<SuiteProcess>((dir_.path() / "data").string(),
                                       std::vector<std::string>{"--tokens-file", tokens.string(),
                                                                "--policy-file", policy.string()},
                                       (dir_.path() / "suite.log").string());
  }

  template <typename R>
  R Cmd() {
    R r;
    r.set_request_id("frontline-" + std::to_string(++requests_));
    r.set_channel(v1::CHANNEL_PHONE);
    return r;
  }

  // A customer with an order billing has seen (its account exists) and a
  // work order installation has made for it.
  void GivenACustomerWithAnOrder() {
    auto reg = Cmd<v1::RegisterCustomerRequest>();
    reg.set_name("Greta Hollander");
    reg.add_phone_numbers("+31 6 1111 2222");
    reg.set_preferred_channel(v1::CHANNEL_PHONE);
    v1::RegisterCustomerResponse reg_resp;
    grpc::Status registered = suite_->Sales()->RegisterCustomer(Ctx(kSales).get(), reg, &reg_resp);
    ASSERT_TRUE(registered.ok()) << registered.error_message();
    customer_ = reg_resp.customer_id();
    auto order = Cmd<v1::PlaceOrderRequest>();
    order.set_customer_id(customer_);
    auto* item = order.add_items();
    item->set_sku("FIBRE-LINE");
    item->set_description("Fibre line");
    item->mutable_monthly_price()->set_amount_minor(3000);
    item->mutable_monthly_price()->set_currency("EUR");
    item->mutable_one_off_price()->set_amount_minor(4900);
    item->mutable_one_off_price()->set_currency("EUR");
    item->set_needs_installation(true);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    order.mutable_requested_installation()->mutable_start()->set_seconds(now + 24 * 3600);
    order.mutable_requested_installation()->mutable_end()->set_seconds(now + 96 * 3600);
    v1::PlaceOrderResponse order_resp;
    grpc::Status placed = suite_->Sales()->PlaceOrder(Ctx(kSales).get(), order, &order_resp);
    ASSERT_TRUE(placed.ok()) << placed.error_message();
    ASSERT_TRUE(WaitFor(
        [&] {
          v1::GetAccountRequest r;
          r.set_customer_id(customer_);
          v1::Account a;
          return suite_->Billing()->GetAccount(Ctx(kBilling).get(), r, &a).ok();
        },
        std::chrono::seconds(30)))
        << "billing never opened the account";
    ASSERT_TRUE(WaitFor(
        [&] {
          v1::ListWorkOrdersRequest r;
          r.set_order_id(order_resp.order_id());
          v1::ListWorkOrdersResponse resp;
          if (!suite_->Installation()->ListWorkOrders(Ctx(kInstallation).get(), r, &resp).ok() ||
              resp.work_orders().empty()) {
            return false;
          }
          work_order_ = resp.work_orders(0).work_order_id();
          return true;
        },
        std::chrono::seconds(30)))
        << "installation never made the work order";
  }

  grpc::Status Grant(const char* token, int64_t minor, v1::GrantCreditResponse* out) {
    auto r = Cmd<v1::GrantCreditRequest>();
    r.set_customer_id(customer_);
    r.mutable_amount()->set_amount_minor(minor);
    r.mutable_amount()->set_currency("EUR");
    r.set_reason("technician came a day late");
    return suite_->Billing()->GrantCredit(Ctx(token).get(), r, out);
  }
  grpc::Status Approve(const char* token, const std::string& credit_id) {
    auto r = Cmd<v1::ApproveCreditRequest>();
    r.set_customer_id(customer_);
    r.set_credit_id(credit_id);
    v1::ApproveCreditResponse resp;
    return suite_->Billing()->ApproveCredit(Ctx(token).get(), r, &resp);
  }
  int64_t Balance() {
    v1::GetAccountRequest r;
    r.set_customer_id(customer_);
    v1::Account a;
    EXPECT_TRUE(suite_->Billing()->GetAccount(Ctx(kBilling).get(), r, &a).ok());
    return a.balance().amount_minor();
  }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> suite_;
  int requests_ = 0;
  std::string customer_;
  std::string work_order_;
};

TEST_F(Frontline, SupportGrantsGoodwillWithinItsLimitAndOnlyASupervisorApprovesMore) {
  ASSERT_NO_FATAL_FAILURE(GivenACustomerWithAnOrder());
  // 10 EUR on the call: applied at once.
  v1::GrantCreditResponse small;
  ASSERT_TRUE(Grant(kSupport, 1000, &small).ok());
  EXPECT_EQ(small.status(), v1::CREDIT_STATUS_APPLIED);
  EXPECT_EQ(Balance(), -1000);
  // 50 EUR is over support's 20 EUR: it waits.
  v1::GrantCreditResponse big;
  ASSERT_TRUE(Grant(kSupport, 5000, &big).ok());
  EXPECT_EQ(big.status(), v1::CREDIT_STATUS_PENDING_APPROVAL);
  EXPECT_EQ(Balance(), -1000);
  // Neither the agent nor billing approves it; a supervisor does.
  grpc::Status by_support = Approve(kSupport, big.credit_id());
  EXPECT_EQ(by_support.error_code(), StatusCode::PERMISSION_DENIED) << by_support.error_message();
  grpc::Status by_billing = Approve(kBilling, big.credit_id());
  EXPECT_EQ(by_billing.error_code(), StatusCode::PERMISSION_DENIED) << by_billing.error_message();
  EXPECT_NE(by_billing.error_message().find("may not approve credits"), std::string::npos)
      << by_billing.error_message();
  grpc::Status by_supervisor = Approve(kSupervisor, big.credit_id());
  EXPECT_TRUE(by_supervisor.ok()) << by_supervisor.error_message();
  EXPECT_EQ(Balance(), -6000);
}

TEST_F(Frontline, SupportConfirmsAnAppointmentForTheCustomerOnThePhone) {
  ASSERT_NO_FATAL_FAILURE(GivenACustomerWithAnOrder());
  const auto now = std::chrono::system_clock::now();
  auto propose = Cmd<v1::ProposeAppointmentRequest>();
  propose.set_work_order_id(work_order_);
  propose.mutable_slot()->mutable_start()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(
          (now + std::chrono::hours(48)).time_since_epoch())
          .count());
  propose.mutable_slot()->mutable_end()->set_seconds(propose.slot().start().seconds() + 4 * 3600);
  v1::ProposeAppointmentResponse proposed;
  grpc::Status p =
      suite_->Installation()->ProposeAppointment(Ctx(kSupport).get(), propose, &proposed);
  ASSERT_TRUE(p.ok()) << p.error_message();
  auto confirm = Cmd<v1::ConfirmAppointmentRequest>();
  confirm.set_work_order_id(work_order_);
  confirm.set_appointment_id(proposed.appointment_id());
  v1::ConfirmAppointmentResponse confirmed;
  grpc::Status c =
      suite_->Installation()->ConfirmAppointment(Ctx(kSupport).get(), confirm, &confirmed);
  EXPECT_TRUE(c.ok()) << c.error_message();
  // Back-office acts stay with their owners.
  auto complete = Cmd<v1::CompleteInstallationRequest>();
  complete.set_work_order_id(work_order_);
  v1::CompleteInstallationResponse done;
  EXPECT_EQ(suite_->Installation()
                ->CompleteInstallation(Ctx(kSupport).get(), complete, &done)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
}

// The file's service levels are in force: a high complaint gets a
// first-response clock (the shipped policy has none) in office hours.
TEST_F(Frontline, TheFilesServiceLevelsApplyToANewComplaint) {
  ASSERT_NO_FATAL_FAILURE(GivenACustomerWithAnOrder());
  auto open = Cmd<v1::OpenTicketRequest>();
  open.set_customer_id(customer_);
  open.set_category(v1::TICKET_CATEGORY_COMPLAINT);
  open.set_priority(v1::TICKET_PRIORITY_HIGH);
  open.set_subject("No signal since the visit");
  v1::OpenTicketResponse opened;
  grpc::Status s = suite_->Support()->OpenTicket(Ctx(kSupport).get(), open, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetTicketRequest get;
  get.set_ticket_id(opened.ticket_id());
  v1::Ticket ticket;
  ASSERT_TRUE(suite_->Support()->GetTicket(Ctx(kSupport).get(), get, &ticket).ok());
  ASSERT_TRUE(ticket.has_first_response_due_at());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // 2 h of office time is at least 2 h away, and the resolution after it.
  EXPECT_GE(ticket.first_response_due_at().seconds(), now + 2 * 3600 - 60);
  EXPECT_GE(ticket.resolution_due_at().seconds(), now + 8 * 3600 - 60);
  EXPECT_GT(ticket.resolution_due_at().seconds(), ticket.first_response_due_at().seconds());
  EXPECT_EQ(ticket.sla_due_at().seconds(), ticket.resolution_due_at().seconds());
}

TEST_F(Frontline, SalesStillMayNotRecordAPayment) {
  ASSERT_NO_FATAL_FAILURE(GivenACustomerWithAnOrder());
  auto pay = Cmd<v1::RecordPaymentRequest>();
  pay.set_customer_id(customer_);
  pay.mutable_amount()->set_amount_minor(3000);
  pay.mutable_amount()->set_currency("EUR");
  v1::RecordPaymentResponse resp;
  grpc::Status s = suite_->Billing()->RecordPayment(Ctx(kSales).get(), pay, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("role 'sales'"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace threadline::testing
