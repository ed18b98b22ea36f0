#pragma once

// The story that started Threadline, across sales, installation and
// billing, written once and run against two deployments: one process on the
// embedded bus, and each department its own process on a real Kafka broker.
//
// Broadband and a line are ordered, both for the installer, with the promise
// "full installation including broadband configuration". The installer
// connects only the line. Billing must keep the broadband charge held, with
// the installer's reason, and invoice only the line.

#include <algorithm>
#include <chrono>

#include "suite_process.h"
#include "threadline/domain/domain.h"

namespace threadline::testing {

class OrderToInvoiceDeployment {
 public:
  virtual ~OrderToInvoiceDeployment() = default;
  virtual SuiteProcess& sales() = 0;
  virtual SuiteProcess& installation() = 0;
  virtual SuiteProcess& billing() = 0;
  // How long a reaction in another department may take to show.
  virtual std::chrono::milliseconds propagation() const { return std::chrono::seconds(20); }
};

inline void BroadbandNotDeliveredIsHeldAndNotInvoiced(OrderToInvoiceDeployment& d) {
  const std::string not_delivered_reason =
      "router configuration is not part of the line installation";

  // Sales: the customer and the order, with the promise installation owns.
  v1::RegisterCustomerRequest reg;
  reg.set_request_id("o2i-register");
  reg.set_channel(v1::CHANNEL_PHONE);
  reg.set_name("Anna de Vries");
  reg.add_phone_numbers("+31687654321");
  reg.set_preferred_channel(v1::CHANNEL_SMS);
  v1::RegisterCustomerResponse registered;
  auto s = d.sales().Sales()->RegisterCustomer(Ctx().get(), reg, &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string customer = registered.customer_id();

  v1::PlaceOrderRequest order;
  order.set_request_id("o2i-order");
  order.set_channel(v1::CHANNEL_PHONE);
  order.set_customer_id(customer);
  auto* broadband = order.add_items();
  broadband->set_sku("BB-1000");
  broadband->set_description("Broadband 1000 with configuration");
  *broadband->mutable_one_off_price() = Eur(0);
  *broadband->mutable_monthly_price() = Eur(3000);
  broadband->set_needs_installation(true);
  auto* line = order.add_items();
  line->set_sku("LINE-FTTH");
  line->set_description("Fibre line");
  *line->mutable_one_off_price() = Eur(4900);
  *line->mutable_monthly_price() = Eur(2500);
  line->set_needs_installation(true);
  *order.mutable_requested_installation()->mutable_start() = FromNow(std::chrono::hours(24));
  *order.mutable_requested_installation()->mutable_end() = FromNow(std::chrono::hours(72));
  auto* promise = order.add_commitments();
  promise->set_text("full installation including broadband configuration");
  promise->set_owner(v1::DEPARTMENT_INSTALLATION);
  *promise->mutable_due_by() = FromNow(std::chrono::hours(72));
  v1::PlaceOrderResponse placed;
  s = d.sales().Sales()->PlaceOrder(Ctx().get(), order, &placed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(placed.item_ids_size(), 2);
  ASSERT_EQ(placed.commitment_ids_size(), 1);
  const std::string broadband_item = placed.item_ids(0);
  const std::string line_item = placed.item_ids(1);

  // Installation: the work order carries both items and the promise.
  v1::ListWorkOrdersRequest by_order;
  by_order.set_order_id(placed.order_id());
  v1::ListWorkOrdersResponse listed;
  ASSERT_TRUE(WaitFor(
      [&] {
        listed.Clear();
        return d.installation()
                   .Installation()
                   ->ListWorkOrders(Ctx().get(), by_order, &listed)
                   .ok() &&
               listed.work_orders_size() > 0;
      },
      d.propagation()))
      << d.installation().Log();
  ASSERT_EQ(listed.work_orders_size(), 1);
  const v1::WorkOrder& wo = listed.work_orders(0);
  EXPECT_EQ(wo.customer_id(), customer);
  ASSERT_EQ(wo.scope_size(), 2);
  std::vector<std::string> scope{wo.scope(0).item_id(), wo.scope(1).item_id()};
  EXPECT_NE(std::find(scope.begin(), scope.end(), broadband_item), scope.end());
  EXPECT_NE(std::find(scope.begin(), scope.end(), line_item), scope.end());
  ASSERT_EQ(wo.commitments_size(), 1);
  EXPECT_EQ(wo.commitments(0).commitment_id(), placed.commitment_ids(0));
  EXPECT_EQ(wo.commitments(0).text(), "full installation including broadband configuration");

  // An appointment the customer agreed to.
  v1::ProposeAppointmentRequest propose;
  propose.set_request_id("o2i-propose");
  propose.set_channel(v1::CHANNEL_SMS);
  propose.set_work_order_id(wo.work_order_id());
  *propose.mutable_slot()->mutable_start() = FromNow(std::chrono::hours(48));
  *propose.mutable_slot()->mutable_end() = FromNow(std::chrono::hours(50));
  v1::ProposeAppointmentResponse proposed;
  s = d.installation().Installation()->ProposeAppointment(Ctx().get(), propose, &proposed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ConfirmAppointmentRequest confirm;
  confirm.set_request_id("o2i-confirm");
  confirm.set_channel(v1::CHANNEL_SMS);
  confirm.set_work_order_id(wo.work_order_id());
  confirm.set_appointment_id(proposed.appointment_id());
  v1::ConfirmAppointmentResponse confirmed;
  s = d.installation().Installation()->ConfirmAppointment(Ctx().get(), confirm, &confirmed);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The installer connects only the line.
  v1::CompleteInstallationRequest done;
  done.set_request_id("o2i-complete");
  done.set_channel(v1::CHANNEL_FIELD);
  done.set_work_order_id(wo.work_order_id());
  done.add_delivered()->set_item_id(line_item);
  auto* missing = done.add_not_delivered();
  missing->set_item_id(broadband_item);
  missing->set_reason(not_delivered_reason);
  v1::CompleteInstallationResponse completed;
  s = d.installation().Installation()->CompleteInstallation(Ctx().get(), done, &completed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(completed.outcome(), v1::COMPLETION_OUTCOME_PARTIAL);

  // Billing: the line is active, broadband held with the installer's reason.
  v1::GetAccountRequest get;
  get.set_customer_id(customer);
  v1::Account account;
  auto charge_of = [&](const std::string& item) -> const v1::Charge* {
    for (const auto& c : account.charges()) {
      if (c.item_id() == item) return &c;
    }
    return nullptr;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        account.Clear();
        if (!d.billing().Billing()->GetAccount(Ctx().get(), get, &account).ok()) return false;
        const v1::Charge* c = charge_of(line_item);
        return c != nullptr && c->status() == v1::CHARGE_STATUS_ACTIVE;
      },
      d.propagation()))
      << d.billing().Log();
  const v1::Charge* held = charge_of(broadband_item);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->status(), v1::CHARGE_STATUS_HELD);
  EXPECT_NE(held->hold_reason().find(not_delivered_reason), std::string::npos)
      << held->hold_reason();
  const std::string line_charge = charge_of(line_item)->charge_id();
  const std::string held_charge = held->charge_id();

  // The invoice for the month after the visit has the line and nothing else.
  v1::IssueInvoiceRequest invoice;
  invoice.set_request_id("o2i-invoice");
  invoice.set_channel(v1::CHANNEL_SYSTEM);
  invoice.set_customer_id(customer);
  *invoice.mutable_period()->mutable_start() = FromNow(std::chrono::hours(0));
  *invoice.mutable_period()->mutable_end() = FromNow(std::chrono::hours(24 * 30));
  v1::IssueInvoiceResponse issued;
  s = d.billing().Billing()->IssueInvoice(Ctx().get(), invoice, &issued);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(issued.total().amount_minor(), 4900 + 2500);
  EXPECT_EQ(issued.total().currency(), "EUR");
  account.Clear();
  s = d.billing().Billing()->GetAccount(Ctx().get(), get, &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(account.invoices_size(), 1);
  const auto& lines = account.invoices(0).lines();
  ASSERT_EQ(lines.size(), 2);
  for (const auto& l : lines) {
    EXPECT_EQ(l.charge_id(), line_charge) << l.description();
    EXPECT_NE(l.charge_id(), held_charge);
  }
  EXPECT_EQ(account.balance().amount_minor(), 4900 + 2500);
}

}  // namespace threadline::testing
