// threadline-demo: plays one customer's story through the public gRPC API of
// a running suite, the way the departments would, and prints the customer id.
//
// The story is the one Threadline was built for: a missed call nobody
// returned, a broadband order with a promised full installation, an
// installer who only connects the line, billing that must not charge for
// what was not delivered, and a complaint.

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "threadline/common/ids.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace {

using namespace threadline;
using Clock = std::chrono::system_clock;

google::protobuf::Timestamp At(Clock::time_point t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  return ts;
}

class Demo {
 public:
  // One address per service: all the same for a suite in one process.
  struct Addresses {
    std::string sales, installation, support, billing, journey;
  };
  static std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  Demo(const Addresses& a, std::string token, bool quiet)
      : sales_(v1::SalesService::NewStub(Channel(a.sales))),
        installation_(v1::InstallationService::NewStub(Channel(a.installation))),
        support_(v1::SupportService::NewStub(Channel(a.support))),
        billing_(v1::BillingService::NewStub(Channel(a.billing))),
        journey_(v1::JourneyService::NewStub(Channel(a.journey))),
        token_(std::move(token)),
        quiet_(quiet) {}

  // Runs the story; returns the customer id or an empty string.
  std::string Run() {
    auto now = Clock::now();

    Say("Three days ago a call from +31 6 1234 5678 went unanswered.");
    v1::RecordMissedCallRequest missed;
    Fill(missed, v1::CHANNEL_PHONE);
    missed.set_caller_number("+31 6 1234 5678");
    *missed.mutable_called_at() = At(now - std::chrono::hours(72));
    missed.set_line("sales hotline");
    v1::RecordMissedCallResponse missed_resp;
    if (!Call("RecordMissedCall", [&](auto* c) {
          return support_->RecordMissedCall(c, missed, &missed_resp);
        })) {
      return "";
    }

    Say("Anna de Vries walks into the shop and becomes a customer.");
    v1::RegisterCustomerRequest reg;
    Fill(reg, v1::CHANNEL_SHOP);
    reg.set_name("Anna de Vries");
    reg.add_phone_numbers("+31 6 1234 5678");
    reg.add_emails("anna.devries@example.org");
    reg.mutable_address()->set_line1("Oudegracht 12");
    reg.mutable_address()->set_postal_code("3511 AB");
    reg.mutable_address()->set_city("Utrecht");
    reg.mutable_address()->set_country("NL");
    reg.set_preferred_channel(v1::CHANNEL_SMS);
    v1::RegisterCustomerResponse reg_resp;
    if (!Call("RegisterCustomer", [&](auto* c) {
          return sales_->RegisterCustomer(c, reg, &reg_resp);
        })) {
      return "";
    }
    const std::string customer = reg_resp.customer_id();

    Say("She orders fibre broadband; an early installation matters to her, and sales "
        "promises a full installation including the broadband set-up.");
    v1::PlaceOrderRequest order;
    Fill(order, v1::CHANNEL_SHOP);
    order.set_customer_id(customer);
    auto* line = order.add_items();
    line->set_sku("FIBRE-LINE");
    line->set_description("Fibre line connection");
    line->mutable_one_off_price()->set_amount_minor(4900);
    line->mutable_one_off_price()->set_currency("EUR");
    line->mutable_monthly_price()->set_amount_minor(1500);
    line->mutable_monthly_price()->set_currency("EUR");
    line->set_needs_installation(true);
    auto* bb = order.add_items();
    bb->set_sku("BB-1000");
    bb->set_description("Broadband 1 Gbit/s with router set-up");
    bb->mutable_one_off_price()->set_currency("EUR");
    bb->mutable_monthly_price()->set_amount_minor(4500);
    bb->mutable_monthly_price()->set_currency("EUR");
    bb->set_needs_installation(true);
    *order.mutable_requested_installation()->mutable_start() = At(now + std::chrono::hours(24));
    *order.mutable_requested_installation()->mutable_end() = At(now + std::chrono::hours(72));
    auto* promise = order.add_commitments();
    promise->set_text("Full installation including broadband configuration");
    promise->set_owner(v1::DEPARTMENT_INSTALLATION);
    *promise->mutable_due_by() = At(now + std::chrono::hours(24 * 7));
    v1::PlaceOrderResponse order_resp;
    if (!Call("PlaceOrder", [&](auto* c) { return sales_->PlaceOrder(c, order, &order_resp); })) {
      return "";
    }

    Say("Installation picks the order up and proposes a slot by SMS; Anna confirms it.");
    v1::WorkOrder wo;
    if (!WaitForWorkOrder(order_resp.order_id(), wo)) return "";
    v1::ProposeAppointmentRequest propose;
    Fill(propose, v1::CHANNEL_SMS);
    propose.set_work_order_id(wo.work_order_id());
    *propose.mutable_slot()->mutable_start() = At(now + std::chrono::hours(26));
    *propose.mutable_slot()->mutable_end() = At(now + std::chrono::hours(30));
    v1::ProposeAppointmentResponse propose_resp;
    if (!Call("ProposeAppointment", [&](auto* c) {
          return installation_->ProposeAppointment(c, propose, &propose_resp);
        })) {
      return "";
    }
    v1::ConfirmAppointmentRequest confirm;
    Fill(confirm, v1::CHANNEL_SMS);
    confirm.set_work_order_id(wo.work_order_id());
    confirm.set_appointment_id(propose_resp.appointment_id());
    v1::ConfirmAppointmentResponse confirm_resp;
    if (!Call("ConfirmAppointment", [&](auto* c) {
          return installation_->ConfirmAppointment(c, confirm, &confirm_resp);
        })) {
      return "";
    }
    v1::AssignTechnicianRequest assign;
    Fill(assign, v1::CHANNEL_SYSTEM);
    assign.set_work_order_id(wo.work_order_id());
    assign.set_technician_id("tech-17");
    assign.set_technician_name("Piet Bakker");
    v1::AssignTechnicianResponse assign_resp;
    if (!Call("AssignTechnician", [&](auto* c) {
          return installation_->AssignTechnician(c, assign, &assign_resp);
        })) {
      return "";
    }

    Say("The technician connects the line only: broadband set-up is not his job.");
    v1::CompleteInstallationRequest done;
    Fill(done, v1::CHANNEL_FIELD);
    done.set_work_order_id(wo.work_order_id());
    for (const auto& item : wo.scope()) {
      if (item.sku() == "FIBRE-LINE") {
        done.add_delivered()->set_item_id(item.item_id());
      } else {
        auto* nd = done.add_not_delivered();
        nd->set_item_id(item.item_id());
        nd->set_reason("technician only connects the line; broadband set-up not scheduled");
      }
    }
    v1::CompleteInstallationResponse done_resp;
    if (!Call("CompleteInstallation", [&](auto* c) {
          return installation_->CompleteInstallation(c, done, &done_resp);
        })) {
      return "";
    }

    Say("Billing invoices what was delivered; the broadband charge stays held.");
    WaitForActiveCharge(customer);
    v1::IssueInvoiceRequest invoice;
    Fill(invoice, v1::CHANNEL_SYSTEM);
    invoice.set_customer_id(customer);
    *invoice.mutable_period()->mutable_start() = At(now);
    *invoice.mutable_period()->mutable_end() = At(now + std::chrono::hours(24 * 30));
    v1::IssueInvoiceResponse invoice_resp;
    if (!Call("IssueInvoice", [&](auto* c) {
          return billing_->IssueInvoice(c, invoice, &invoice_resp);
        })) {
      return "";
    }

    Say("Anna calls, upset: she was promised broadband set-up. The agent opens a complaint.");
    v1::OpenTicketRequest ticket;
    Fill(ticket, v1::CHANNEL_PHONE);
    ticket.set_customer_id(customer);
    ticket.set_category(v1::TICKET_CATEGORY_COMPLAINT);
    ticket.set_subject("Promised broadband set-up never happened");
    ticket.set_description(
        "Sales promised a full installation including broadband configuration; the "
        "installer only connected the line.");
    ticket.set_priority(v1::TICKET_PRIORITY_HIGH);
    v1::OpenTicketResponse ticket_resp;
    if (!Call("OpenTicket", [&](auto* c) { return support_->OpenTicket(c, ticket, &ticket_resp); })) {
      return "";
    }
    return customer;
  }

  // Waits until the journey shows every kind of entry in `kinds`.
  bool WaitForJourney(const std::string& customer, const std::vector<std::string>& kinds) {
    return WaitUntil([&] {
      v1::GetTimelineRequest r;
      r.set_customer_id(customer);
      r.set_page_size(500);
      v1::GetTimelineResponse resp;
      auto c = Ctx();
      if (!journey_->GetTimeline(c.get(), r, &resp).ok()) return false;
      for (const auto& kind : kinds) {
        bool found = false;
        for (const auto& e : resp.entries()) found |= e.kind() == kind;
        if (!found) return false;
      }
      return true;
    });
  }

 private:
  template <typename Req>
  void Fill(Req& r, v1::Channel channel) {
    r.set_request_id("demo-" + NewUuidV7());
    r.set_channel(channel);
  }
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(Clock::now() + std::chrono::seconds(10));
    if (!token_.empty()) c->AddMetadata("authorization", "Bearer " + token_);
    return c;
  }
  template <typename F>
  bool Call(const char* what, F f) {
    auto c = Ctx();
    grpc::Status s = f(c.get());
    if (!s.ok()) {
      std::cerr << "demo: " << what << " failed: " << s.error_message() << "\n";
      return false;
    }
    return true;
  }
  void Say(const std::string& line) {
    if (!quiet_) std::cerr << "* " << line << "\n";
  }
  // Reactions run asynchronously: poll with a deadline.
  template <typename F>
  bool WaitUntil(F condition) {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
  }
  bool WaitForWorkOrder(const std::string& order_id, v1::WorkOrder& out) {
    bool ok = WaitUntil([&] {
      v1::ListWorkOrdersRequest r;
      r.set_order_id(order_id);
      v1::ListWorkOrdersResponse resp;
      auto c = Ctx();
      if (!installation_->ListWorkOrders(c.get(), r, &resp).ok() || resp.work_orders().empty()) {
        return false;
      }
      out = resp.work_orders(0);
      return true;
    });
    if (!ok) std::cerr << "demo: no work order appeared for order " << order_id << "\n";
    return ok;
  }
  void WaitForActiveCharge(const std::string& customer) {
    WaitUntil([&] {
      v1::GetAccountRequest r;
      r.set_customer_id(customer);
      v1::Account account;
      auto c = Ctx();
      if (!billing_->GetAccount(c.get(), r, &account).ok()) return false;
      for (const auto& charge : account.charges()) {
        if (charge.status() == v1::CHARGE_STATUS_ACTIVE) return true;
      }
      return false;
    });
  }

  std::unique_ptr<v1::SalesService::Stub> sales_;
  std::unique_ptr<v1::InstallationService::Stub> installation_;
  std::unique_ptr<v1::SupportService::Stub> support_;
  std::unique_ptr<v1::BillingService::Stub> billing_;
  std::unique_ptr<v1::JourneyService::Stub> journey_;
  std::string token_;
  bool quiet_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Plays a customer's story through a running Threadline suite"};
  std::string address = "127.0.0.1:50051";
  std::string token;
  bool quiet = false;
  if (const char* a = std::getenv("THREADLINE_ADDRESS")) address = a;
  if (const char* t = std::getenv("THREADLINE_TOKEN")) token = t;
  app.add_option("--address", address, "suite address (THREADLINE_ADDRESS)")->capture_default_str();
  app.add_option("--token", token, "bearer token with admin role (THREADLINE_TOKEN)");
  app.add_flag("--quiet", quiet, "do not narrate");
  Demo::Addresses per_service;
  app.add_option("--sales", per_service.sales, "sales address when services run apart");
  app.add_option("--installation", per_service.installation, "installation address");
  app.add_option("--support", per_service.support, "support address");
  app.add_option("--billing", per_service.billing, "billing address");
  app.add_option("--journey", per_service.journey, "journey address");
  CLI11_PARSE(app, argc, argv);
  for (auto* a : {&per_service.sales, &per_service.installation, &per_service.support,
                  &per_service.billing, &per_service.journey}) {
    if (a->empty()) *a = address;
  }

  Demo demo(per_service, token, quiet);
  std::string customer = demo.Run();
  if (customer.empty()) return 1;
  // Every department's events reach the journey asynchronously.
  if (!demo.WaitForJourney(customer, {"MissedCallLinked", "InstallationCompleted", "ChargeHeld",
                                      "InvoiceIssued", "TicketOpened"})) {
    std::cerr << "demo: the journey did not show the story in time\n";
    return 1;
  }
  std::cout << customer << std::endl;
  return 0;
}
