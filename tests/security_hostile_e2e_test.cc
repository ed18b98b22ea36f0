// Hostile requests against every RPC of the five services, through the real
// `threadline serve` binary on the embedded bus (label `security`).
//
// Each case sends one bad thing on top of an otherwise valid request (so the
// bad thing is what gets refused) and asserts the exact status code and that
// the message names the offending field. Around the whole batch the suite is
// stopped and every department's event store checksummed (all column
// families, the outbox cursor and consumer offsets included), and the seeded
// customers' timelines and cards are read before and after: a refused
// request must change nothing anywhere.

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "security_support.h"
#include "threadline/domain/domain.h"
#include "threadline/v1/keys.pb.h"
#include "threadline/v1/privacy.pb.h"

namespace threadline::testing {
namespace {

namespace pb = google::protobuf;
using grpc::StatusCode;

constexpr char kAdminToken[] = "hostile-admin-token-7f3a9c2e51d84b06";

// Far past, far future and other timestamps.
constexpr int64_t kYear1 = -62135596800;     // 0001-01-01
constexpr int64_t kYear9999 = 253402300799;  // 9999-12-31T23:59:59
constexpr int64_t kYear2001 = 978307200;     // in range, but in the past

pb::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  pb::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}
int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
pb::Timestamp InDays(int days) { return Ts(NowSeconds() + int64_t{days} * 86400); }
v1::TimeWindow Window(pb::Timestamp start, pb::Timestamp end) {
  v1::TimeWindow w;
  *w.mutable_start() = start;
  *w.mutable_end() = end;
  return w;
}
v1::TimeWindow NextWeek() { return Window(InDays(7), Ts(NowSeconds() + 7 * 86400 + 4 * 3600)); }
std::string FakeId(const std::string& prefix) { return prefix + "_" + std::string(32, 'e'); }

const std::string& Mib() {
  static const std::string* s = new std::string(1 << 20, 'n');
  return *s;
}
const std::string k10kId(10'000, 'x');
// Bytes that are not UTF-8 (a lone continuation byte and 0xFF).
const std::string kBadUtf8 = "caf\xC3\x28\xFF";
const std::string kControl = std::string("bell\x07") + "esc\x1b[2J";

// What the batch knows about the seeded customers.
struct Seed {
  std::string cus_a, cus_b;
  std::string order_a, order_b;
  std::vector<std::string> items_a, items_b;
  std::string wo_a = FakeId("wo"), apt_a = FakeId("apt");
  std::string ticket_a = FakeId("tkt"), callback_a = FakeId("cb");
  std::string charge_a = FakeId("chg"), credit_a = FakeId("cr");
};

struct Case {
  std::string method;  // "SalesService/RegisterCustomer"
  std::string what;
  std::shared_ptr<pb::Message> request;  // null: send `raw`
  std::string raw;
  StatusCode code;
  std::string field;  // the message must contain it; empty: not checked
};

template <typename R, typename F>
std::shared_ptr<pb::Message> With(R r, F mutate) {
  mutate(r);
  return std::make_shared<R>(std::move(r));
}

int next_request = 0;
std::string Rid() { return "hostile-" + std::to_string(++next_request); }

template <typename R>
R Cmd() {
  R r;
  r.set_request_id(Rid());
  r.set_channel(v1::CHANNEL_PHONE);
  return r;
}

// ---- Valid baselines, one per command ------------------------------------

v1::RegisterCustomerRequest Register() {
  auto r = Cmd<v1::RegisterCustomerRequest>();
  r.set_name("Hostile Baseline");
  r.add_phone_numbers("+31 6 5550 0099");
  r.set_preferred_channel(v1::CHANNEL_SMS);
  return r;
}
v1::PlaceOrderRequest Order(const Seed& s) {
  auto r = Cmd<v1::PlaceOrderRequest>();
  r.set_customer_id(s.cus_a);
  auto* item = r.add_items();
  item->set_sku("FIBRE-1G");
  item->set_description("Fibre 1 Gbit/s");
  *item->mutable_one_off_price() = Eur(4900);
  *item->mutable_monthly_price() = Eur(5500);
  return r;
}
v1::CancelOrderRequest Cancel(const Seed& s) {
  auto r = Cmd<v1::CancelOrderRequest>();
  r.set_customer_id(s.cus_a);
  r.set_order_id(s.order_a);
  r.set_reason("changed my mind");
  return r;
}
v1::SwitchProductRequest Switch(const Seed& s) {
  auto r = Cmd<v1::SwitchProductRequest>();
  r.set_customer_id(s.cus_a);
  r.set_from_sku("FIBRE-1G");
  r.set_to_sku("FIBRE-2G");
  *r.mutable_effective_at() = InDays(-1);
  return r;
}
v1::LogContactRequest Contact(const Seed& s) {
  auto r = Cmd<v1::LogContactRequest>();
  r.set_customer_id(s.cus_a);
  r.set_direction(v1::CONTACT_DIRECTION_INBOUND);
  r.set_outcome("asked about the bill");
  return r;
}
v1::ProposeAppointmentRequest Propose(const Seed& s) {
  auto r = Cmd<v1::ProposeAppointmentRequest>();
  r.set_work_order_id(s.wo_a);
  *r.mutable_slot() = NextWeek();
  return r;
}
v1::ConfirmAppointmentRequest Confirm(const Seed& s) {
  auto r = Cmd<v1::ConfirmAppointmentRequest>();
  r.set_work_order_id(s.wo_a);
  r.set_appointment_id(s.apt_a);
  return r;
}
v1::DeclineAppointmentRequest Decline(const Seed& s) {
  auto r = Cmd<v1::DeclineAppointmentRequest>();
  r.set_work_order_id(s.wo_a);
  r.set_appointment_id(s.apt_a);
  r.set_reason("not that day");
  return r;
}
v1::AssignTechnicianRequest Assign(const Seed& s) {
  auto r = Cmd<v1::AssignTechnicianRequest>();
  r.set_work_order_id(s.wo_a);
  r.set_technician_id("tech-7");
  r.set_technician_name("Sam");
  return r;
}
v1::CompleteInstallationRequest Complete(const Seed& s) {
  auto r = Cmd<v1::CompleteInstallationRequest>();
  r.set_work_order_id(s.wo_a);
  for (const auto& item : s.items_a) r.add_delivered()->set_item_id(item);
  return r;
}
v1::OpenTicketRequest Ticket(const Seed& s) {
  auto r = Cmd<v1::OpenTicketRequest>();
  r.set_customer_id(s.cus_a);
  r.set_category(v1::TICKET_CATEGORY_FAULT);
  r.set_subject("no internet");
  r.set_priority(v1::TICKET_PRIORITY_NORMAL);
  return r;
}
v1::RecordMissedCallRequest MissedCall() {
  auto r = Cmd<v1::RecordMissedCallRequest>();
  r.set_caller_number("+31 6 5550 0077");
  *r.mutable_called_at() = Ts(NowSeconds() - 60);
  r.set_line("main");
  return r;
}
v1::AddInteractionRequest Interaction(const Seed& s) {
  auto r = Cmd<v1::AddInteractionRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_note("customer called again");
  return r;
}
v1::AssignTicketRequest AssignTicket(const Seed& s) {
  auto r = Cmd<v1::AssignTicketRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_team("l1");
  r.set_tier(v1::SUPPORT_TIER_L1);
  return r;
}
v1::EscalateTicketRequest Escalate(const Seed& s) {
  auto r = Cmd<v1::EscalateTicketRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_to_tier(v1::SUPPORT_TIER_L2);
  r.set_reason("needs a specialist");
  return r;
}
v1::ResolveTicketRequest Resolve(const Seed& s) {
  auto r = Cmd<v1::ResolveTicketRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_resolution("fixed");
  return r;
}
v1::ReopenTicketRequest Reopen(const Seed& s) {
  auto r = Cmd<v1::ReopenTicketRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_reason("broken again");
  return r;
}
v1::SetTicketWaitingRequest Wait(const Seed& s) {
  auto r = Cmd<v1::SetTicketWaitingRequest>();
  r.set_ticket_id(s.ticket_a);
  r.set_reason("asked for the router's serial number");
  return r;
}
v1::ResumeTicketRequest Resume(const Seed& s) {
  auto r = Cmd<v1::ResumeTicketRequest>();
  r.set_ticket_id(s.ticket_a);
  return r;
}
v1::ScheduleCallbackRequest Callback(const Seed& s) {
  auto r = Cmd<v1::ScheduleCallbackRequest>();
  r.set_customer_id(s.cus_a);
  r.set_phone_number("+31 6 5550 0001");
  *r.mutable_due_at() = InDays(1);
  r.set_reason("call back about the fault");
  return r;
}
v1::CompleteCallbackRequest CompleteCb(const Seed& s) {
  auto r = Cmd<v1::CompleteCallbackRequest>();
  r.set_callback_id(s.callback_a);
  r.set_reached(true);
  r.set_note("done");
  return r;
}
v1::IssueInvoiceRequest Invoice(const Seed& s) {
  auto r = Cmd<v1::IssueInvoiceRequest>();
  r.set_customer_id(s.cus_a);
  *r.mutable_period() = Window(InDays(-30), InDays(0));
  return r;
}
v1::RecordPaymentRequest Payment(const Seed& s) {
  auto r = Cmd<v1::RecordPaymentRequest>();
  r.set_customer_id(s.cus_a);
  *r.mutable_amount() = Eur(1000);
  r.set_method("sepa");
  return r;
}
v1::GrantCreditRequest Credit(const Seed& s) {
  auto r = Cmd<v1::GrantCreditRequest>();
  r.set_customer_id(s.cus_a);
  *r.mutable_amount() = Eur(500);
  r.set_reason("late installation");
  return r;
}
v1::ApproveCreditRequest Approve(const Seed& s) {
  auto r = Cmd<v1::ApproveCreditRequest>();
  r.set_customer_id(s.cus_a);
  r.set_credit_id(s.credit_a);
  return r;
}
v1::DisputeChargeRequest Dispute(const Seed& s) {
  auto r = Cmd<v1::DisputeChargeRequest>();
  r.set_customer_id(s.cus_a);
  r.set_charge_id(s.charge_a);
  *r.mutable_amount() = Eur(100);
  r.set_reason("never delivered");
  return r;
}
v1::ResolveDisputeRequest ResolveDispute(const Seed& s) {
  auto r = Cmd<v1::ResolveDisputeRequest>();
  r.set_customer_id(s.cus_a);
  r.set_dispute_id(FakeId("dsp"));
  r.set_outcome(v1::DISPUTE_OUTCOME_UPHELD);
  r.set_note("credited");
  return r;
}

// Sets enum field `name` of `m` to `value`, a number the enum does not
// define, through reflection (the typed setter would not allow it).
template <typename R>
std::shared_ptr<pb::Message> WithEnum(R r, const std::string& name, int value) {
  const auto* field = R::descriptor()->FindFieldByName(name);
  R::GetReflection()->SetEnumValue(&r, field, value);
  return std::make_shared<R>(std::move(r));
}

// ---- The table ---------------------------------------------------------------

std::vector<Case> HostileCases(const Seed& s) {
  const auto INVALID = StatusCode::INVALID_ARGUMENT;
  const auto NOT_FOUND = StatusCode::NOT_FOUND;
  const auto PRECONDITION = StatusCode::FAILED_PRECONDITION;
  std::vector<Case> c;
  auto add = [&c](std::string method, std::string what, std::shared_ptr<pb::Message> req,
                  StatusCode code, std::string field) {
    c.push_back({std::move(method), std::move(what), std::move(req), "", code, std::move(field)});
  };

  // Sales -----------------------------------------------------------------
  const std::string kReg = "SalesService/RegisterCustomer";
  add(kReg, "empty request_id", With(Register(), [](auto& r) { r.set_request_id(""); }), INVALID,
      "request_id");
  add(kReg, "10k-char request_id", With(Register(), [](auto& r) { r.set_request_id(k10kId); }),
      INVALID, "request_id");
  add(kReg, "request_id with a control character",
      With(Register(), [](auto& r) { r.set_request_id("abc\x01"); }), INVALID, "request_id");
  add(kReg, "channel 999", WithEnum(Register(), "channel", 999), INVALID, "channel");
  add(kReg, "channel unspecified",
      With(Register(), [](auto& r) { r.set_channel(v1::CHANNEL_UNSPECIFIED); }), INVALID,
      "channel");
  add(kReg, "empty name", With(Register(), [](auto& r) { r.set_name(""); }), INVALID, "name");
  add(kReg, "blank name", With(Register(), [](auto& r) { r.set_name(" \t "); }), INVALID, "name");
  add(kReg, "1 MiB name", With(Register(), [](auto& r) { r.set_name(Mib()); }), INVALID, "name");
  add(kReg, "name with control characters", With(Register(), [](auto& r) { r.set_name(kControl); }),
      INVALID, "name");
  // A typed client sends it (protobuf only logs on serializing); the
  // server's protobuf refuses to parse a proto3 string that is not UTF-8,
  // and gRPC answers INTERNAL before any Threadline code runs.
  add(kReg, "name with invalid UTF-8", With(Register(), [](auto& r) { r.set_name(kBadUtf8); }),
      StatusCode::INTERNAL, "");
  // Past the server's 4 MiB message limit: gRPC refuses it before parsing.
  add(kReg, "5 MiB request",
      With(Register(), [](auto& r) { r.set_name(std::string(5 << 20, 'n')); }),
      StatusCode::RESOURCE_EXHAUSTED, "");
  add(kReg, "10k phone numbers",
      With(Register(),
           [](auto& r) {
             for (int i = 0; i < 10'000; ++i) r.add_phone_numbers("+3161234" + std::to_string(i));
           }),
      INVALID, "phone_numbers");
  add(kReg, "a phone number that is none",
      With(Register(), [](auto& r) { r.set_phone_numbers(0, "call me maybe"); }), INVALID,
      "phone_numbers[0]");
  add(kReg, "10k-char phone number",
      With(Register(), [](auto& r) { r.set_phone_numbers(0, std::string(10'000, '1')); }), INVALID,
      "phone_numbers[0]");
  add(kReg, "an e-mail that is none", With(Register(), [](auto& r) { r.add_emails("not-mail"); }),
      INVALID, "emails[0]");
  add(kReg, "preferred_channel 999", WithEnum(Register(), "preferred_channel", 999), INVALID,
      "preferred_channel");
  add(kReg, "address country ZZZ",
      With(Register(),
           [](auto& r) {
             auto* a = r.mutable_address();
             a->set_line1("Main St 1");
             a->set_city("Utrecht");
             a->set_country("ZZZ");
           }),
      INVALID, "address.country");
  add(kReg, "another customer's phone number",
      With(Register(), [](auto& r) { r.set_phone_numbers(0, "+31 6 5550 0001"); }),
      StatusCode::ALREADY_EXISTS, "");
  add(kReg, "expected_version on a new customer",
      With(Register(), [](auto& r) { r.set_expected_version(7); }), StatusCode::ABORTED, "");

  const std::string kOrder = "SalesService/PlaceOrder";
  add(kOrder, "empty customer_id", With(Order(s), [](auto& r) { r.set_customer_id(""); }), INVALID,
      "customer_id");
  add(kOrder, "10k-char customer_id", With(Order(s), [](auto& r) { r.set_customer_id(k10kId); }),
      INVALID, "customer_id");
  add(kOrder, "customer_id with a tab and a path",
      With(Order(s), [](auto& r) { r.set_customer_id("cus_\t../../etc/passwd"); }), INVALID,
      "customer_id");
  add(kOrder, "unknown customer", With(Order(s), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer");
  add(kOrder, "no items", With(Order(s), [](auto& r) { r.clear_items(); }), INVALID, "items");
  add(kOrder, "10k items",
      With(Order(s),
           [](auto& r) {
             for (int i = 0; i < 10'000; ++i) *r.add_items() = r.items(0);
           }),
      INVALID, "items");
  add(kOrder, "negative price",
      With(Order(s),
           [](auto& r) { r.mutable_items(0)->mutable_one_off_price()->set_amount_minor(-1); }),
      INVALID, "items[0].one_off_price");
  add(kOrder, "INT64_MIN price",
      With(Order(s),
           [](auto& r) {
             r.mutable_items(0)->mutable_one_off_price()->set_amount_minor(INT64_MIN);
           }),
      INVALID, "items[0].one_off_price");
  add(kOrder, "INT64_MAX price",
      With(Order(s),
           [](auto& r) {
             r.mutable_items(0)->mutable_monthly_price()->set_amount_minor(INT64_MAX);
           }),
      INVALID, "items[0].monthly_price");
  add(kOrder, "unknown currency",
      With(Order(s),
           [](auto& r) { r.mutable_items(0)->mutable_one_off_price()->set_currency("XXX"); }),
      INVALID, "items[0].one_off_price");
  add(kOrder, "sku with control characters",
      With(Order(s), [](auto& r) { r.mutable_items(0)->set_sku(kControl); }), INVALID,
      "items[0].sku");
  add(kOrder, "installation without a window",
      With(Order(s), [](auto& r) { r.mutable_items(0)->set_needs_installation(true); }), INVALID,
      "requested_installation");
  add(kOrder, "window starting in year 1",
      With(Order(s),
           [](auto& r) { *r.mutable_requested_installation() = Window(Ts(kYear1), InDays(7)); }),
      INVALID, "requested_installation.start");
  add(kOrder, "window ending in year 9999",
      With(Order(s),
           [](auto& r) { *r.mutable_requested_installation() = Window(InDays(7), Ts(kYear9999)); }),
      INVALID, "requested_installation.end");
  add(kOrder, "window with nanos out of range",
      With(Order(s),
           [](auto& r) {
             auto w = NextWeek();
             w.mutable_start()->set_nanos(1'000'000'000);
             *r.mutable_requested_installation() = w;
           }),
      INVALID, "requested_installation.start");
  add(kOrder, "window with negative nanos",
      With(Order(s),
           [](auto& r) {
             auto w = NextWeek();
             w.mutable_end()->set_nanos(-1);
             *r.mutable_requested_installation() = w;
           }),
      INVALID, "requested_installation.end");
  add(kOrder, "window with INT64_MAX seconds",
      With(Order(s),
           [](auto& r) { *r.mutable_requested_installation() = Window(InDays(7), Ts(INT64_MAX)); }),
      INVALID, "requested_installation.end");
  add(kOrder, "window end before start",
      With(Order(s),
           [](auto& r) {
             auto w = NextWeek();
             std::swap(*w.mutable_start(), *w.mutable_end());
             *r.mutable_requested_installation() = w;
           }),
      INVALID, "requested_installation");
  add(kOrder, "commitment owner 999",
      With(Order(s),
           [](auto& r) {
             auto* c = r.add_commitments();
             c->set_text("call first");
             c->GetReflection()->SetEnumValue(c, c->GetDescriptor()->FindFieldByName("owner"), 999);
             *c->mutable_due_by() = InDays(3);
           }),
      INVALID, "commitments[0].owner");
  add(kOrder, "commitment due in year 1",
      With(Order(s),
           [](auto& r) {
             auto* c = r.add_commitments();
             c->set_text("call first");
             c->set_owner(v1::DEPARTMENT_INSTALLATION);
             *c->mutable_due_by() = Ts(kYear1);
           }),
      INVALID, "commitments[0].due_by");
  add(kOrder, "1 MiB commitment text",
      With(Order(s),
           [](auto& r) {
             auto* c = r.add_commitments();
             c->set_text(Mib());
             c->set_owner(v1::DEPARTMENT_INSTALLATION);
             *c->mutable_due_by() = InDays(3);
           }),
      INVALID, "commitments[0].text");
  add(kOrder, "10k commitments",
      With(Order(s),
           [](auto& r) {
             for (int i = 0; i < 10'000; ++i) {
               auto* c = r.add_commitments();
               c->set_text("x");
               c->set_owner(v1::DEPARTMENT_SALES);
             }
           }),
      INVALID, "commitments");

  const std::string kCancel = "SalesService/CancelOrder";
  add(kCancel, "10k-char order_id", With(Cancel(s), [](auto& r) { r.set_order_id(k10kId); }),
      INVALID, "order_id");
  add(kCancel, "another customer's order",
      With(Cancel(s), [&s](auto& r) { r.set_order_id(s.order_b); }), NOT_FOUND, "order");
  add(kCancel, "order on an unknown customer",
      With(Cancel(s), [](auto& r) { r.set_customer_id(FakeId("cus")); }), NOT_FOUND, "customer");
  add(kCancel, "empty reason", With(Cancel(s), [](auto& r) { r.set_reason(""); }), INVALID,
      "reason");

  const std::string kSwitch = "SalesService/SwitchProduct";
  add(kSwitch, "same sku", With(Switch(s), [](auto& r) { r.set_to_sku("FIBRE-1G"); }), INVALID,
      "to_sku");
  add(kSwitch, "effective in year 9999",
      With(Switch(s), [](auto& r) { *r.mutable_effective_at() = Ts(kYear9999); }), INVALID,
      "effective_at");
  add(kSwitch, "effective INT64_MIN seconds",
      With(Switch(s), [](auto& r) { *r.mutable_effective_at() = Ts(INT64_MIN); }), INVALID,
      "effective_at");
  add(kSwitch, "effective_at with nanos -1",
      With(Switch(s), [](auto& r) { r.mutable_effective_at()->set_nanos(-1); }), INVALID,
      "effective_at");
  add(kSwitch, "1 MiB note", With(Switch(s), [](auto& r) { r.set_note(Mib()); }), INVALID, "note");

  const std::string kContact = "SalesService/LogContact";
  add(kContact, "direction 999", WithEnum(Contact(s), "direction", 999), INVALID, "direction");
  add(kContact, "outcome with control characters",
      With(Contact(s), [](auto& r) { r.set_outcome(kControl); }), INVALID, "outcome");
  add(kContact, "request_id reused with a different body",
      With(Contact(s),
           [](auto& r) {
             r.set_request_id("hostile-used-sales");
             r.set_outcome("a different outcome");
           }),
      INVALID, "request_id");
  add(kContact, "expected_version far ahead",
      With(Contact(s), [](auto& r) { r.set_expected_version(UINT64_MAX); }), StatusCode::ABORTED,
      "");

  // Installation ------------------------------------------------------------
  const std::string kPropose = "InstallationService/ProposeAppointment";
  add(kPropose, "empty work_order_id", With(Propose(s), [](auto& r) { r.set_work_order_id(""); }),
      INVALID, "work_order_id");
  add(kPropose, "10k-char work_order_id",
      With(Propose(s), [](auto& r) { r.set_work_order_id(k10kId); }), INVALID, "work_order_id");
  add(kPropose, "unknown work order",
      With(Propose(s), [](auto& r) { r.set_work_order_id(FakeId("wo")); }), NOT_FOUND,
      "work order");
  add(kPropose, "slot in year 1",
      With(Propose(s), [](auto& r) { *r.mutable_slot() = Window(Ts(kYear1), InDays(7)); }), INVALID,
      "slot.start");
  add(kPropose, "slot ending in year 9999",
      With(Propose(s), [](auto& r) { *r.mutable_slot() = Window(InDays(7), Ts(kYear9999)); }),
      INVALID, "slot.end");
  add(kPropose, "slot with nanos out of range",
      With(Propose(s), [](auto& r) { r.mutable_slot()->mutable_start()->set_nanos(INT32_MAX); }),
      INVALID, "slot.start");
  add(kPropose, "channel 999", WithEnum(Propose(s), "channel", 999), INVALID, "channel");

  const std::string kConfirm = "InstallationService/ConfirmAppointment";
  add(kConfirm, "appointment_id not an id",
      With(Confirm(s), [](auto& r) { r.set_appointment_id("'; DROP TABLE --"); }), INVALID,
      "appointment_id");
  add(kConfirm, "10k-char work_order_id",
      With(Confirm(s), [](auto& r) { r.set_work_order_id(k10kId); }), INVALID, "work_order_id");
  add(kConfirm, "appointment of no proposal",
      With(Confirm(s), [](auto& r) { r.set_appointment_id(FakeId("apt")); }), PRECONDITION,
      "appointment");

  const std::string kDecline = "InstallationService/DeclineAppointment";
  add(kDecline, "1 MiB reason", With(Decline(s), [](auto& r) { r.set_reason(Mib()); }), INVALID,
      "reason");
  add(kDecline, "empty appointment_id", With(Decline(s), [](auto& r) { r.set_appointment_id(""); }),
      INVALID, "appointment_id");

  const std::string kAssign = "InstallationService/AssignTechnician";
  add(kAssign, "empty technician_id", With(Assign(s), [](auto& r) { r.set_technician_id(""); }),
      INVALID, "technician_id");
  add(kAssign, "technician_name with control characters",
      With(Assign(s), [](auto& r) { r.set_technician_name(kControl); }), INVALID,
      "technician_name");
  add(kAssign, "request_id reused with a different body",
      With(Assign(s),
           [](auto& r) {
             r.set_request_id("hostile-used-installation");
             r.set_technician_name("Somebody Else");
           }),
      INVALID, "request_id");

  const std::string kComplete = "InstallationService/CompleteInstallation";
  add(kComplete, "10k delivered items",
      With(Complete(s),
           [](auto& r) {
             for (int i = 0; i < 10'000; ++i) r.add_delivered()->set_item_id(FakeId("itm"));
           }),
      INVALID, "delivered");
  add(kComplete, "another customer's item",
      With(Complete(s), [&s](auto& r) { r.add_delivered()->set_item_id(s.items_b.at(0)); }),
      INVALID, "delivered[");
  add(kComplete, "item reported twice",
      With(Complete(s),
           [&s](auto& r) {
             r.add_not_delivered()->set_item_id(s.items_a.at(0));
             r.mutable_not_delivered(0)->set_reason("twice");
           }),
      INVALID, "not_delivered[0].item_id");
  add(kComplete, "undelivered without a reason",
      With(Complete(s),
           [&s](auto& r) {
             r.clear_delivered();
             r.add_not_delivered()->set_item_id(s.items_a.at(0));
           }),
      INVALID, "not_delivered[0].reason");

  const std::string kGetWo = "InstallationService/GetWorkOrder";
  add(kGetWo, "empty work_order_id", std::make_shared<v1::GetWorkOrderRequest>(), INVALID,
      "work_order_id");
  add(kGetWo, "10k-char work_order_id",
      With(v1::GetWorkOrderRequest(), [](auto& r) { r.set_work_order_id(k10kId); }), INVALID,
      "work_order_id");
  add(kGetWo, "unknown work order",
      With(v1::GetWorkOrderRequest(), [](auto& r) { r.set_work_order_id(FakeId("wo")); }),
      NOT_FOUND, "work order");

  const std::string kListWo = "InstallationService/ListWorkOrders";
  add(kListWo, "neither customer nor order", std::make_shared<v1::ListWorkOrdersRequest>(), INVALID,
      "customer_id");
  add(kListWo, "10k-char customer_id",
      With(v1::ListWorkOrdersRequest(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID,
      "customer_id");
  add(kListWo, "order_id not an id",
      With(v1::ListWorkOrdersRequest(), [](auto& r) { r.set_order_id(kControl); }), INVALID,
      "order_id");

  // Support -----------------------------------------------------------------
  const std::string kOpen = "SupportService/OpenTicket";
  add(kOpen, "category 999", WithEnum(Ticket(s), "category", 999), INVALID, "category");
  add(kOpen, "priority -5", WithEnum(Ticket(s), "priority", -5), INVALID, "priority");
  add(kOpen, "1 MiB subject", With(Ticket(s), [](auto& r) { r.set_subject(Mib()); }), INVALID,
      "subject");
  add(kOpen, "10k-char customer_id", With(Ticket(s), [](auto& r) { r.set_customer_id(k10kId); }),
      INVALID, "customer_id");
  add(kOpen, "request_id reused with a different body",
      With(Ticket(s),
           [](auto& r) {
             r.set_request_id("hostile-used-support");
             r.set_subject("another subject");
           }),
      INVALID, "request_id");

  add(kOpen, "opened in year 9999",
      With(Ticket(s), [](auto& r) { *r.mutable_occurred_at() = Ts(kYear9999); }), INVALID,
      "occurred_at");
  add(kOpen, "opened an hour from now",
      With(Ticket(s), [](auto& r) { *r.mutable_occurred_at() = Ts(NowSeconds() + 3600); }), INVALID,
      "occurred_at: is in the future");

  const std::string kMissed = "SupportService/RecordMissedCall";
  add(kMissed, "caller_number that is none",
      With(MissedCall(), [](auto& r) { r.set_caller_number("anonymous"); }), INVALID,
      "caller_number");
  add(kMissed, "called in year 9999",
      With(MissedCall(), [](auto& r) { *r.mutable_called_at() = Ts(kYear9999); }), INVALID,
      "called_at");
  add(kMissed, "called in year 1",
      With(MissedCall(), [](auto& r) { *r.mutable_called_at() = Ts(kYear1); }), INVALID,
      "called_at");
  add(kMissed, "called_at nanos out of range",
      With(MissedCall(), [](auto& r) { r.mutable_called_at()->set_nanos(-7); }), INVALID,
      "called_at");
  add(kMissed, "line with control characters",
      With(MissedCall(), [](auto& r) { r.set_line(kControl); }), INVALID, "line");

  const std::string kInteract = "SupportService/AddInteraction";
  add(kInteract, "unknown ticket",
      With(Interaction(s), [](auto& r) { r.set_ticket_id(FakeId("tkt")); }), NOT_FOUND, "ticket");
  add(kInteract, "empty note", With(Interaction(s), [](auto& r) { r.set_note(""); }), INVALID,
      "note");
  add(kInteract, "1 MiB note", With(Interaction(s), [](auto& r) { r.set_note(Mib()); }), INVALID,
      "note");

  const std::string kAssignT = "SupportService/AssignTicket";
  add(kAssignT, "tier 999", WithEnum(AssignTicket(s), "tier", 999), INVALID, "tier");
  add(kAssignT, "reply with control characters",
      With(AssignTicket(s), [](auto& r) { r.set_reply(kControl); }), INVALID, "reply");
  add(kAssignT, "reply of 5,000 characters",
      With(AssignTicket(s), [](auto& r) { r.set_reply(std::string(5000, 'a')); }), INVALID,
      "reply");
  add(kAssignT, "neither team nor agent",
      With(AssignTicket(s),
           [](auto& r) {
             r.set_team("");
             r.set_agent("");
           }),
      INVALID, "team");

  const std::string kEscalate = "SupportService/EscalateTicket";
  add(kEscalate, "to_tier 999", WithEnum(Escalate(s), "to_tier", 999), INVALID, "to_tier");
  add(kEscalate, "10k-char ticket_id", With(Escalate(s), [](auto& r) { r.set_ticket_id(k10kId); }),
      INVALID, "ticket_id");

  const std::string kResolveT = "SupportService/ResolveTicket";
  add(kResolveT, "1 MiB resolution", With(Resolve(s), [](auto& r) { r.set_resolution(Mib()); }),
      INVALID, "resolution");

  const std::string kReopen = "SupportService/ReopenTicket";
  add(kReopen, "reopen an open ticket", std::make_shared<v1::ReopenTicketRequest>(Reopen(s)),
      PRECONDITION, "");
  add(kReopen, "empty reason", With(Reopen(s), [](auto& r) { r.set_reason(""); }), INVALID,
      "reason");

  const std::string kSchedule = "SupportService/ScheduleCallback";
  add(kSchedule, "due in the past",
      With(Callback(s), [](auto& r) { *r.mutable_due_at() = Ts(kYear2001); }), INVALID, "due_at");
  add(kSchedule, "due in year 9999",
      With(Callback(s), [](auto& r) { *r.mutable_due_at() = Ts(kYear9999); }), INVALID, "due_at");
  add(kSchedule, "phone_number that is none",
      With(Callback(s), [](auto& r) { r.set_phone_number(kControl); }), INVALID, "phone_number");
  add(kSchedule, "ticket_id not an id", With(Callback(s), [](auto& r) { r.set_ticket_id(k10kId); }),
      INVALID, "ticket_id");

  const std::string kCompleteCb = "SupportService/CompleteCallback";
  add(kCompleteCb, "unknown callback",
      With(CompleteCb(s), [](auto& r) { r.set_callback_id(FakeId("cb")); }), NOT_FOUND, "callback");
  add(kCompleteCb, "callback_id not an id",
      With(CompleteCb(s), [](auto& r) { r.set_callback_id("cb_"); }), INVALID, "callback_id");

  const std::string kWait = "SupportService/SetTicketWaiting";
  add(kWait, "unknown ticket", With(Wait(s), [](auto& r) { r.set_ticket_id(FakeId("tkt")); }),
      NOT_FOUND, "ticket");
  add(kWait, "ticket_id not an id", With(Wait(s), [](auto& r) { r.set_ticket_id(k10kId); }),
      INVALID, "ticket_id");
  add(kWait, "empty reason", With(Wait(s), [](auto& r) { r.set_reason(""); }), INVALID, "reason");
  add(kWait, "reason with control characters",
      With(Wait(s), [](auto& r) { r.set_reason(kControl); }), INVALID, "reason");
  const std::string kResume = "SupportService/ResumeTicket";
  add(kResume, "resume a ticket that is not waiting",
      std::make_shared<v1::ResumeTicketRequest>(Resume(s)), PRECONDITION,
      "not waiting on the customer");
  add(kResume, "unknown ticket", With(Resume(s), [](auto& r) { r.set_ticket_id(FakeId("tkt")); }),
      NOT_FOUND, "ticket");

  const std::string kGetTicket = "SupportService/GetTicket";
  add(kGetTicket, "empty ticket_id", std::make_shared<v1::GetTicketRequest>(), INVALID,
      "ticket_id");
  add(kGetTicket, "unknown ticket",
      With(v1::GetTicketRequest(), [](auto& r) { r.set_ticket_id(FakeId("tkt")); }), NOT_FOUND,
      "ticket");

  // Billing -----------------------------------------------------------------
  const std::string kInvoice = "BillingService/IssueInvoice";
  add(kInvoice, "unknown customer",
      With(Invoice(s), [](auto& r) { r.set_customer_id(FakeId("cus")); }), NOT_FOUND,
      "customer_id");
  add(kInvoice, "period from year 1",
      With(Invoice(s), [](auto& r) { *r.mutable_period() = Window(Ts(kYear1), InDays(0)); }),
      INVALID, "period.start");
  add(kInvoice, "period without an end",
      With(Invoice(s), [](auto& r) { r.mutable_period()->clear_end(); }), INVALID, "period");

  const std::string kPay = "BillingService/RecordPayment";
  add(kPay, "INT64_MIN amount",
      With(Payment(s), [](auto& r) { r.mutable_amount()->set_amount_minor(INT64_MIN); }), INVALID,
      "amount");
  add(kPay, "INT64_MAX amount",
      With(Payment(s), [](auto& r) { r.mutable_amount()->set_amount_minor(INT64_MAX); }), INVALID,
      "amount");
  add(kPay, "zero amount",
      With(Payment(s), [](auto& r) { r.mutable_amount()->set_amount_minor(0); }), INVALID,
      "amount");
  add(kPay, "unknown customer", With(Payment(s), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer_id");
  add(kPay, "10k-char invoice_id", With(Payment(s), [](auto& r) { r.set_invoice_id(k10kId); }),
      INVALID, "invoice_id");
  add(kPay, "another currency than the account's",
      With(Payment(s), [](auto& r) { r.mutable_amount()->set_currency("USD"); }), PRECONDITION,
      "amount.currency");

  const std::string kGrant = "BillingService/GrantCredit";
  add(kGrant, "negative amount",
      With(Credit(s), [](auto& r) { r.mutable_amount()->set_amount_minor(-500); }), INVALID,
      "amount");
  add(kGrant, "empty reason", With(Credit(s), [](auto& r) { r.set_reason(""); }), INVALID,
      "reason");
  add(kGrant, "unknown customer",
      With(Credit(s), [](auto& r) { r.set_customer_id(FakeId("cus")); }), NOT_FOUND, "customer_id");
  add(kGrant, "request_id reused with a different body",
      With(Credit(s),
           [](auto& r) {
             r.set_request_id("hostile-used-billing");
             r.mutable_amount()->set_amount_minor(501);
           }),
      INVALID, "request_id");

  const std::string kApprove = "BillingService/ApproveCredit";
  add(kApprove, "credit_id not an id",
      With(Approve(s), [](auto& r) { r.set_credit_id(kBadUtf8.substr(0, 3)); }), INVALID,
      "credit_id");
  add(kApprove, "unknown credit", With(Approve(s), [](auto& r) { r.set_credit_id(FakeId("cr")); }),
      NOT_FOUND, "credit");

  const std::string kDispute = "BillingService/DisputeCharge";
  add(kDispute, "another customer's charge",
      With(Dispute(s), [&s](auto& r) { r.set_customer_id(s.cus_b); }), NOT_FOUND, "charge");
  add(kDispute, "INT64_MAX amount",
      With(Dispute(s), [](auto& r) { r.mutable_amount()->set_amount_minor(INT64_MAX); }), INVALID,
      "amount");
  add(kDispute, "charge_id not an id", With(Dispute(s), [](auto& r) { r.set_charge_id(k10kId); }),
      INVALID, "charge_id");

  const std::string kResolveD = "BillingService/ResolveDispute";
  add(kResolveD, "outcome 999", WithEnum(ResolveDispute(s), "outcome", 999), INVALID, "outcome");
  add(kResolveD, "unknown dispute", std::make_shared<v1::ResolveDisputeRequest>(ResolveDispute(s)),
      NOT_FOUND, "dispute");

  const std::string kAccount = "BillingService/GetAccount";
  add(kAccount, "empty customer_id", std::make_shared<v1::GetAccountRequest>(), INVALID,
      "customer_id");
  add(kAccount, "10k-char customer_id",
      With(v1::GetAccountRequest(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID,
      "customer_id");
  add(kAccount, "unknown customer",
      With(v1::GetAccountRequest(), [](auto& r) { r.set_customer_id(FakeId("cus")); }), NOT_FOUND,
      "");

  // Journey -----------------------------------------------------------------
  auto timeline = [&s] {
    v1::GetTimelineRequest r;
    r.set_customer_id(s.cus_a);
    return r;
  };
  const std::string kTimeline = "JourneyService/GetTimeline";
  add(kTimeline, "empty customer_id", std::make_shared<v1::GetTimelineRequest>(), INVALID,
      "customer_id");
  add(kTimeline, "10k-char customer_id",
      With(timeline(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID, "customer_id");
  add(kTimeline, "unknown customer",
      With(timeline(), [](auto& r) { r.set_customer_id(FakeId("cus")); }), NOT_FOUND, "customer");
  add(kTimeline, "page_size -1", With(timeline(), [](auto& r) { r.set_page_size(-1); }), INVALID,
      "page_size");
  add(kTimeline, "page_size INT32_MAX",
      With(timeline(), [](auto& r) { r.set_page_size(INT32_MAX); }), INVALID, "page_size");
  add(kTimeline, "page_token not a token",
      With(timeline(), [](auto& r) { r.set_page_token("zz-not-hex"); }), INVALID, "page_token");
  add(kTimeline, "time_range from year 1",
      With(timeline(), [](auto& r) { *r.mutable_time_range()->mutable_start() = Ts(kYear1); }),
      INVALID, "time_range");
  add(kTimeline, "time_range with INT64_MAX seconds",
      With(timeline(), [](auto& r) { *r.mutable_time_range()->mutable_end() = Ts(INT64_MAX); }),
      INVALID, "time_range");
  add(kTimeline, "time_range nanos out of range",
      With(timeline(),
           [](auto& r) {
             *r.mutable_time_range()->mutable_start() = Ts(NowSeconds(), 2'000'000'000);
           }),
      INVALID, "time_range");
  add(kTimeline, "department 999",
      With(timeline(),
           [](auto& r) {
             r.GetReflection()->AddEnumValue(&r, r.GetDescriptor()->FindFieldByName("departments"),
                                             999);
           }),
      INVALID, "departments");

  const std::string kContext = "JourneyService/GetCustomerContext";
  add(kContext, "empty customer_id", std::make_shared<v1::GetCustomerContextRequest>(), INVALID,
      "customer_id");
  add(kContext, "10k-char customer_id",
      With(v1::GetCustomerContextRequest(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID,
      "customer_id");
  add(kContext, "unknown customer",
      With(v1::GetCustomerContextRequest(), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer");

  const std::string kFind = "JourneyService/FindCustomer";
  add(kFind, "empty query", std::make_shared<v1::FindCustomerRequest>(), INVALID, "query");
  add(kFind, "1 MiB query", With(v1::FindCustomerRequest(), [](auto& r) { r.set_query(Mib()); }),
      INVALID, "query");
  add(kFind, "query with control characters",
      With(v1::FindCustomerRequest(), [](auto& r) { r.set_query(kControl); }), INVALID, "query");
  add(kFind, "limit -1",
      With(v1::FindCustomerRequest(),
           [](auto& r) {
             r.set_query("Anna");
             r.set_limit(-1);
           }),
      INVALID, "limit");

  const std::string kSubscribe = "JourneyService/SubscribeJourney";
  add(kSubscribe, "resume_token not a token",
      With(v1::SubscribeJourneyRequest(), [](auto& r) { r.set_resume_token("abc"); }), INVALID,
      "resume_token");
  add(kSubscribe, "resume_token from the future",
      With(v1::SubscribeJourneyRequest(), [](auto& r) { r.set_resume_token("999999999999"); }),
      INVALID, "resume_token");
  add(kSubscribe, "resume_token -1",
      With(v1::SubscribeJourneyRequest(), [](auto& r) { r.set_resume_token("-1"); }), INVALID,
      "resume_token");
  add(kSubscribe, "10k customer_ids that are not ids",
      With(v1::SubscribeJourneyRequest(),
           [](auto& r) {
             for (int i = 0; i < 10'000; ++i) r.add_customer_ids("x" + std::to_string(i));
           }),
      INVALID, "customer_ids");

  // Privacy -----------------------------------------------------------------
  // Nothing here may erase or export a seeded customer.
  const std::string kJourneyExport = "JourneyExportService/ExportCustomer";
  add(kJourneyExport, "empty customer_id", std::make_shared<v1::ExportCustomerRequest>(), INVALID,
      "customer_id");
  add(kJourneyExport, "10k-char customer_id",
      With(v1::ExportCustomerRequest(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID,
      "customer_id");
  add(kJourneyExport, "unknown customer",
      With(v1::ExportCustomerRequest(), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer");
  const std::string kExport = "PrivacyService/ExportCustomerData";
  add(kExport, "empty customer_id", std::make_shared<v1::ExportCustomerDataRequest>(), INVALID,
      "customer_id");
  add(kExport, "10k-char customer_id",
      With(v1::ExportCustomerDataRequest(), [](auto& r) { r.set_customer_id(k10kId); }), INVALID,
      "customer_id");
  add(kExport, "unknown customer",
      With(v1::ExportCustomerDataRequest(), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer");
  add(kExport, "1 MiB reason",
      With(v1::ExportCustomerDataRequest(),
           [&s](auto& r) {
             r.set_customer_id(s.cus_a);
             r.set_reason(Mib());
           }),
      INVALID, "reason");

  auto erase = [] {
    v1::EraseCustomerRequest r;
    r.set_request_id(Rid());
    r.set_channel(v1::CHANNEL_EMAIL);
    r.set_reason("DSR-HOSTILE");
    return r;
  };
  const std::string kErase = "PrivacyService/EraseCustomer";
  add(kErase, "empty customer_id", With(erase(), [](auto&) {}), INVALID, "customer_id");
  add(kErase, "unknown customer", With(erase(), [](auto& r) { r.set_customer_id(FakeId("cus")); }),
      NOT_FOUND, "customer");
  add(kErase, "customer_id with a NUL",
      With(erase(), [&s](auto& r) { r.set_customer_id(s.cus_a + std::string(1, '\0')); }), INVALID,
      "customer_id");
  add(kErase, "no reason",
      With(erase(),
           [&s](auto& r) {
             r.set_customer_id(s.cus_a);
             r.clear_reason();
           }),
      INVALID, "reason");
  add(kErase, "no request_id",
      With(erase(),
           [&s](auto& r) {
             r.set_customer_id(s.cus_a);
             r.clear_request_id();
           }),
      INVALID, "request_id");

  // Keys ------------------------------------------------------------------
  // Nothing here may make a key for a subject that is not one.
  const std::string kKey = "KeyService/GetDataKey";
  add(kKey, "empty subject", std::make_shared<v1::GetDataKeyRequest>(), INVALID, "subject");
  add(kKey, "10k-char subject",
      With(v1::GetDataKeyRequest(),
           [](auto& r) {
             r.set_subject(k10kId);
             r.set_create(true);
           }),
      INVALID, "subject");
  add(kKey, "subject with a NUL",
      With(v1::GetDataKeyRequest(),
           [&s](auto& r) {
             r.set_subject(s.cus_a + std::string(1, '\0'));
             r.set_create(true);
           }),
      INVALID, "subject");
  add(kKey, "subject with a space",
      With(v1::GetDataKeyRequest(),
           [](auto& r) {
             r.set_subject("cus x");
             r.set_create(true);
           }),
      INVALID, "subject");
  // It takes nothing, so nothing in it can be hostile: unknown fields are
  // ignored, and the answer changes nothing stored.
  add("KeyService/GetIndexKey", "unknown fields only",
      With(v1::GetIndexKeyRequest(),
           [](auto& r) { r.GetReflection()->MutableUnknownFields(&r)->AddVarint(7, 1); }),
      StatusCode::OK, "");

  return c;
}

// Cases that no typed client could send: bytes for every method of every
// service, whatever the method expects.
std::vector<Case> RawCases() {
  std::vector<Case> c;
  for (const auto& method : AllThreadlineMethods()) {
    const std::string shown = method.substr(std::string("/threadline.v1.").size());
    // Not protobuf at all: a truncated tag and varint. gRPC's own
    // deserializer refuses it before any Threadline code runs; gRPC C++
    // answers INTERNAL for a request it cannot parse.
    c.push_back({shown, "raw bytes that are not protobuf", nullptr, "\xff\xff\xff\xff\xff",
                 StatusCode::INTERNAL, ""});
    // A length-delimited field claiming more bytes than follow.
    c.push_back({shown, "raw length prefix past the end", nullptr,
                 std::string("\x22\xff\x01"
                             "ab",
                             5),
                 StatusCode::INTERNAL, ""});
    // Over the server's 4 MiB limit, whatever the bytes.
    c.push_back({shown, "raw 5 MiB body", nullptr, std::string(5 << 20, '\x01'),
                 StatusCode::RESOURCE_EXHAUSTED, ""});
    // Valid UTF-8 is required in proto3 strings: protobuf refuses the parse.
    // (A request without fields keeps field 1 as an unknown field.)
    if (FindMethod(method)->input_type()->field_count() == 0) continue;
    c.push_back({shown, "raw invalid UTF-8 in a string field", nullptr,
                 std::string("\x0a\x04\xc3\x28\xff\xfe", 6), StatusCode::INTERNAL, ""});
  }
  // Protobuf, but not this message: field 1 as a varint where every
  // request has a string. Protobuf keeps it as an unknown field, so the
  // request arrives empty and validation names one of its required fields
  // ("*": whichever the service checks first). A subscription with an
  // empty request is valid (everything, from now), so it is left out.
  const std::string varint_field1("\x08\x96\x01", 3);
  for (const auto& method : AllThreadlineMethods()) {
    if (FindMethod(method)->server_streaming()) continue;
    if (FindMethod(method)->input_type()->field_count() == 0) continue;
    c.push_back({method.substr(std::string("/threadline.v1.").size()),
                 "raw: another message type (varint in field 1)", nullptr, varint_field1,
                 StatusCode::INVALID_ARGUMENT, "*"});
  }
  return c;
}

// The seeded customers' journeys as the API serves them, serialized
// deterministically (TimelineEntry.refs is a map), read through the API of
// the running suite rather than from its store.
std::string JourneyOf(SuiteProcess& suite, const std::vector<std::string>& customers) {
  auto journey = suite.Journey();
  std::string out;
  auto append = [&out](const pb::Message& m) {
    std::string bytes = domain::DeterministicBytes(m);
    out += std::to_string(bytes.size()) + ":" + bytes;
  };
  for (const auto& customer : customers) {
    v1::GetTimelineRequest tr;
    tr.set_customer_id(customer);
    tr.set_page_size(500);
    v1::GetTimelineResponse timeline;
    auto s = journey->GetTimeline(Ctx(kAdminToken).get(), tr, &timeline);
    EXPECT_TRUE(s.ok()) << s.error_message();
    append(timeline);
    v1::GetCustomerContextRequest cr;
    cr.set_customer_id(customer);
    v1::CustomerContext card;
    s = journey->GetCustomerContext(Ctx(kAdminToken).get(), cr, &card);
    EXPECT_TRUE(s.ok()) << s.error_message();
    append(card);
  }
  return out;
}

class HostileRequests : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = dir_.path() / "tokens";
    WriteTokensFile(tokens_, {{kAdminToken, "admin"}});
  }
  std::unique_ptr<SuiteProcess> StartSuite(const std::string& log_name) {
    return std::make_unique<SuiteProcess>(data_.string(),
                                          std::vector<std::string>{"--tokens-file", tokens_},
                                          (dir_.path() / log_name).string());
  }

  TempDir dir_;
  std::filesystem::path data_ = dir_.path() / "data";
  std::string tokens_;
};

// Registers two customers with orders, a work order with an appointment, a
// ticket, a callback and a credit; waits until the journey shows it all, so
// nothing is still in flight when the suite stops.
Seed SeedCustomers(SuiteProcess& suite) {
  Seed s;
  auto sales = suite.Sales();
  std::set<std::string> acked_a;
  auto reg = [&](const std::string& rid, const std::string& phone, const std::string& email) {
    v1::RegisterCustomerRequest r;
    r.set_request_id(rid);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_name("Anna de Vries");
    r.add_phone_numbers(phone);
    r.add_emails(email);
    r.set_preferred_channel(v1::CHANNEL_SMS);
    v1::RegisterCustomerResponse resp;
    auto st = sales->RegisterCustomer(Ctx(kAdminToken).get(), r, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  auto a = reg("seed-a", "+31 6 5550 0001", "anna@example.com");
  auto b = reg("seed-b", "+31 6 5550 0002", "bert@example.com");
  s.cus_a = a.customer_id();
  s.cus_b = b.customer_id();
  acked_a.insert(a.ack().event_ids().begin(), a.ack().event_ids().end());

  auto order = [&](const std::string& rid, const std::string& customer) {
    v1::PlaceOrderRequest r;
    r.set_request_id(rid);
    r.set_channel(v1::CHANNEL_SHOP);
    r.set_customer_id(customer);
    auto* fibre = r.add_items();
    fibre->set_sku("FIBRE-1G");
    fibre->set_description("Fibre 1 Gbit/s");
    *fibre->mutable_one_off_price() = Eur(4900);
    *fibre->mutable_monthly_price() = Eur(5500);
    fibre->set_needs_installation(true);
    auto* router = r.add_items();
    router->set_sku("ROUTER-X");
    router->set_description("Router");
    *router->mutable_one_off_price() = Eur(9900);
    *router->mutable_monthly_price() = Eur(0);
    *r.mutable_requested_installation() = NextWeek();
    v1::PlaceOrderResponse resp;
    auto st = sales->PlaceOrder(Ctx(kAdminToken).get(), r, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  auto oa = order("seed-order-a", s.cus_a);
  auto ob = order("seed-order-b", s.cus_b);
  s.order_a = oa.order_id();
  s.order_b = ob.order_id();
  s.items_a.assign(oa.item_ids().begin(), oa.item_ids().end());
  s.items_b.assign(ob.item_ids().begin(), ob.item_ids().end());
  acked_a.insert(oa.ack().event_ids().begin(), oa.ack().event_ids().end());
  {
    auto r = Contact(s);
    r.set_request_id("hostile-used-sales");
    v1::LogContactResponse resp;
    auto st = sales->LogContact(Ctx(kAdminToken).get(), r, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    acked_a.insert(resp.ack().event_ids().begin(), resp.ack().event_ids().end());
  }

  // Installation: the work order the reaction made from order A.
  std::set<std::string> kinds_a;  // reaction events the journey must show
  auto inst = suite.Installation();
  v1::ListWorkOrdersRequest lw;
  lw.set_customer_id(s.cus_a);
  v1::ListWorkOrdersResponse wos;
  grpc::Status st;
  WaitFor(
      [&] {
        st = inst->ListWorkOrders(Ctx(kAdminToken).get(), lw, &wos);
        return st.ok() && wos.work_orders_size() > 0;
      },
      std::chrono::seconds(20));
  if (st.ok() && wos.work_orders_size() > 0) {
    s.wo_a = wos.work_orders(0).work_order_id();
    kinds_a.insert("WorkOrderCreated");
    auto p = Propose(s);
    v1::ProposeAppointmentResponse pr;
    st = inst->ProposeAppointment(Ctx(kAdminToken).get(), p, &pr);
    EXPECT_TRUE(st.ok()) << st.error_message();
    s.apt_a = pr.appointment_id();
    acked_a.insert(pr.ack().event_ids().begin(), pr.ack().event_ids().end());
    auto t = Assign(s);
    t.set_request_id("hostile-used-installation");
    v1::AssignTechnicianResponse tr;
    st = inst->AssignTechnician(Ctx(kAdminToken).get(), t, &tr);
    EXPECT_TRUE(st.ok()) << st.error_message();
    acked_a.insert(tr.ack().event_ids().begin(), tr.ack().event_ids().end());
  } else {
    ADD_FAILURE() << "no work order for customer A: " << st.error_code() << " "
                  << st.error_message();
  }

  // Support: a ticket and a callback.
  auto support = suite.Support();
  {
    auto t = Ticket(s);
    t.set_request_id("hostile-used-support");
    v1::OpenTicketResponse tr;
    st = support->OpenTicket(Ctx(kAdminToken).get(), t, &tr);
    if (st.ok()) {
      s.ticket_a = tr.ticket_id();
      acked_a.insert(tr.ack().event_ids().begin(), tr.ack().event_ids().end());
      v1::ScheduleCallbackResponse cr;
      st = support->ScheduleCallback(Ctx(kAdminToken).get(), Callback(s), &cr);
      EXPECT_TRUE(st.ok()) << st.error_message();
      s.callback_a = cr.callback_id();
      acked_a.insert(cr.ack().event_ids().begin(), cr.ack().event_ids().end());
    } else {
      ADD_FAILURE() << "support did not open a ticket: " << st.error_code() << " "
                    << st.error_message();
    }
  }

  // Billing: the charges the reaction scheduled from order A, and a credit.
  auto billing = suite.Billing();
  v1::GetAccountRequest ga;
  ga.set_customer_id(s.cus_a);
  v1::Account account;
  WaitFor(
      [&] {
        st = billing->GetAccount(Ctx(kAdminToken).get(), ga, &account);
        return st.ok() && account.charges_size() >= 2;
      },
      std::chrono::seconds(20));
  if (st.ok() && account.charges_size() > 0) {
    s.charge_a = account.charges(0).charge_id();
    kinds_a.insert("ChargeScheduled");
    auto c = Credit(s);
    c.set_request_id("hostile-used-billing");
    v1::GrantCreditResponse cr;
    st = billing->GrantCredit(Ctx(kAdminToken).get(), c, &cr);
    EXPECT_TRUE(st.ok()) << st.error_message();
    s.credit_a = cr.credit_id();
    acked_a.insert(cr.ack().event_ids().begin(), cr.ack().event_ids().end());
  } else {
    ADD_FAILURE() << "no billing account with charges for customer A: " << st.error_code() << " "
                  << st.error_message();
  }

  // Everything acknowledged, and every reaction, on the journey.
  auto journey = suite.Journey();
  auto on_timeline = [&](const std::string& customer, const std::set<std::string>& ids,
                         const std::set<std::string>& kinds) {
    v1::GetTimelineRequest r;
    r.set_customer_id(customer);
    r.set_page_size(500);
    v1::GetTimelineResponse resp;
    if (!journey->GetTimeline(Ctx(kAdminToken).get(), r, &resp).ok()) return false;
    std::set<std::string> seen_ids, seen_kinds;
    for (const auto& e : resp.entries()) {
      seen_ids.insert(e.event_id());
      seen_kinds.insert(e.kind());
    }
    for (const auto& id : ids) {
      if (!seen_ids.count(id)) return false;
    }
    for (const auto& k : kinds) {
      if (!seen_kinds.count(k)) return false;
    }
    return true;
  };
  EXPECT_TRUE(
      WaitFor([&] { return on_timeline(s.cus_a, acked_a, kinds_a); }, std::chrono::seconds(30)))
      << "customer A's seeded events did not reach the journey";
  std::set<std::string> acked_b(ob.ack().event_ids().begin(), ob.ack().event_ids().end());
  EXPECT_TRUE(
      WaitFor([&] { return on_timeline(s.cus_b, acked_b, kinds_a); }, std::chrono::seconds(30)))
      << "customer B's seeded events did not reach the journey";
  return s;
}

TEST_F(HostileRequests, EveryRpcRefusesHostileInputAndNothingStoredChanges) {
  Seed seed;
  {
    auto suite = StartSuite("seed.log");
    seed = SeedCustomers(*suite);
    StopSuite(*suite);
  }
  ASSERT_FALSE(seed.cus_a.empty()) << "seeding failed; see above";
  const auto before = StoreChecksums(data_);

  auto suite = StartSuite("hostile.log");
  const std::vector<std::string> customers{seed.cus_a, seed.cus_b};
  const std::string journey_before = JourneyOf(*suite, customers);
  std::vector<Case> cases = HostileCases(seed);
  auto raw = RawCases();
  cases.insert(cases.end(), raw.begin(), raw.end());

  // Every RPC of every service has at least one typed and one raw case.
  std::map<std::string, int> typed_per_method, raw_per_method;
  for (const auto& c : cases) ++(c.request ? typed_per_method : raw_per_method)[c.method];
  for (const auto& method : AllThreadlineMethods()) {
    const std::string shown = method.substr(std::string("/threadline.v1.").size());
    EXPECT_GT(typed_per_method[shown], 0) << "no typed hostile case for " << shown;
    EXPECT_GT(raw_per_method[shown], 0) << "no raw case for " << shown;
  }

  int failures = 0;
  for (const auto& c : cases) {
    const std::string method = "/threadline.v1." + c.method;
    // A stream that was wrongly accepted would wait for updates: its
    // deadline keeps the case short.
    const auto deadline = c.method == "JourneyService/SubscribeJourney" ? std::chrono::seconds(3)
                                                                        : std::chrono::seconds(20);
    grpc::Status s =
        c.request ? CallMethod(suite->channel().get(), method, *c.request, kAdminToken, deadline)
                  : CallRaw(suite->channel().get(), method, c.raw, kAdminToken, deadline);
    // "*": the message names some field of the request type.
    std::vector<std::string> fields{c.field};
    if (c.field == "*") {
      fields.clear();
      const auto* input = FindMethod(method)->input_type();
      for (int i = 0; i < input->field_count(); ++i) fields.push_back(input->field(i)->name());
    }
    auto names_field = [&] {
      for (const auto& f : fields) {
        if (s.error_message().find(f) != std::string::npos) return true;
      }
      return c.field.empty();
    };
    bool ok = s.error_code() == c.code && names_field();
    if (!ok) ++failures;
    EXPECT_EQ(s.error_code(), c.code) << c.method << " [" << c.what << "]: got " << s.error_code()
                                      << " '" << s.error_message().substr(0, 300) << "'";
    if (!c.field.empty() && s.error_code() == c.code) {
      EXPECT_TRUE(names_field()) << c.method << " [" << c.what << "]: the message does not name '"
                                 << c.field << "': '" << s.error_message().substr(0, 300) << "'";
    }
    // A refusal never echoes a hostile payload back in full.
    EXPECT_LT(s.error_message().size(), 2000u) << c.method << " [" << c.what << "]";
  }
  std::cout << "hostile cases: " << cases.size() << ", failing: " << failures << "\n";

  // The server is still up and answers a good request.
  v1::GetCustomerContextRequest good;
  good.set_customer_id(seed.cus_a);
  v1::CustomerContext card;
  auto st = suite->Journey()->GetCustomerContext(Ctx(kAdminToken).get(), good, &card);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(journey_before, JourneyOf(*suite, customers)) << "a refused request changed a journey";

  StopSuite(*suite);
  const auto after = StoreChecksums(data_);
  EXPECT_EQ(before, after) << "a refused request changed a department's event store";
  EXPECT_EQ(before.size(), 4u);
}

}  // namespace
}  // namespace threadline::testing
