#include "threadline/sales/domain.h"

#include <algorithm>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"

namespace threadline::sales {
namespace {

using domain::ValidateText;

absl::Status RequireRegistered(const CustomerState& s) {
  if (!s.registered) {
    return absl::NotFoundError("customer not found; register the customer first");
  }
  return absl::OkStatus();
}

std::string Indexed(std::string_view field, int i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

}  // namespace

void Evolve(CustomerState& s, const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kCustomerRegistered: {
      const auto& p = e.customer_registered();
      s.registered = true;
      s.name = p.name();
      s.phone_numbers.assign(p.phone_numbers().begin(), p.phone_numbers().end());
      s.emails.assign(p.emails().begin(), p.emails().end());
      break;
    }
    case v1::EventEnvelope::kOrderPlaced: {
      const auto& p = e.order_placed();
      auto& order = s.orders[p.order_id()];
      order.items.assign(p.items().begin(), p.items().end());
      for (const auto& item : p.items()) s.products.insert(item.sku());
      break;
    }
    case v1::EventEnvelope::kOrderCancelled: {
      auto it = s.orders.find(e.order_cancelled().order_id());
      if (it != s.orders.end()) {
        it->second.cancelled = true;
        for (const auto& item : it->second.items) s.products.erase(item.sku());
      }
      break;
    }
    case v1::EventEnvelope::kProductSwitched:
      s.products.erase(e.product_switched().from_sku());
      s.products.insert(e.product_switched().to_sku());
      break;
    default:
      break;
  }
}

absl::StatusOr<domain::Events> Decide(const CustomerState& s,
                                      const v1::RegisterCustomerRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const std::string& customer_id) {
  if (s.registered) return absl::AlreadyExistsError("customer " + customer_id + " exists");
  RETURN_IF_ERROR(ValidateText("name", cmd.name(), domain::kMaxNameLength));
  if (cmd.phone_numbers().empty() && cmd.emails().empty()) {
    return absl::InvalidArgumentError(
        "phone_numbers: give at least one phone number or e-mail so the customer can be reached");
  }
  if (cmd.phone_numbers_size() > 10 || cmd.emails_size() > 10) {
    return absl::InvalidArgumentError("phone_numbers/emails: at most 10 of each");
  }
  domain::Events events(1);
  auto* p = events[0].mutable_customer_registered();
  p->set_customer_id(customer_id);
  p->set_name(cmd.name());
  for (int i = 0; i < cmd.phone_numbers_size(); ++i) {
    ASSIGN_OR_RETURN(std::string phone,
                     domain::NormalizePhone(Indexed("phone_numbers", i), cmd.phone_numbers(i)));
    if (std::find(p->phone_numbers().begin(), p->phone_numbers().end(), phone) ==
        p->phone_numbers().end()) {
      p->add_phone_numbers(phone);
    }
  }
  for (int i = 0; i < cmd.emails_size(); ++i) {
    ASSIGN_OR_RETURN(std::string email, domain::NormalizeEmail(Indexed("emails", i), cmd.emails(i)));
    if (std::find(p->emails().begin(), p->emails().end(), email) == p->emails().end()) {
      p->add_emails(email);
    }
  }
  if (cmd.has_address()) {
    const auto& a = cmd.address();
    RETURN_IF_ERROR(ValidateText("address.line1", a.line1(), domain::kMaxNameLength));
    RETURN_IF_ERROR(ValidateText("address.line2", a.line2(), domain::kMaxNameLength, false));
    RETURN_IF_ERROR(ValidateText("address.postal_code", a.postal_code(), 16, false));
    RETURN_IF_ERROR(ValidateText("address.city", a.city(), domain::kMaxNameLength));
    if (a.country().size() != 2 || !std::all_of(a.country().begin(), a.country().end(),
                                                [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return absl::InvalidArgumentError(
          "address.country: use an ISO 3166-1 alpha-2 code such as NL or DE");
    }
    *p->mutable_address() = a;
  }
  RETURN_IF_ERROR(domain::ValidateChannel("preferred_channel", cmd.preferred_channel()));
  p->set_preferred_channel(cmd.preferred_channel());
  (void)ctx;
  return events;
}

absl::StatusOr<domain::Events> Decide(const CustomerState& s, const v1::PlaceOrderRequest& cmd,
                                      const domain::CommandContext& ctx) {
  if (cmd.items().empty()) return absl::InvalidArgumentError("items: an order needs an item");
  if (cmd.items_size() > static_cast<int>(domain::kMaxRepeated) ||
      cmd.commitments_size() > static_cast<int>(domain::kMaxRepeated)) {
    return absl::InvalidArgumentError("items/commitments: at most 100 of each");
  }
  bool needs_installation = false;
  std::string currency;
  for (int i = 0; i < cmd.items_size(); ++i) {
    const auto& item = cmd.items(i);
    std::string f = Indexed("items", i);
    RETURN_IF_ERROR(ValidateText(f + ".sku", item.sku(), domain::kMaxIdLength));
    RETURN_IF_ERROR(ValidateText(f + ".description", item.description(), domain::kMaxNameLength));
    RETURN_IF_ERROR(domain::ValidateMoney(f + ".one_off_price", item.one_off_price()));
    RETURN_IF_ERROR(domain::ValidateMoney(f + ".monthly_price", item.monthly_price()));
    for (const auto* m : {&item.one_off_price(), &item.monthly_price()}) {
      if (currency.empty()) currency = m->currency();
      if (m->currency() != currency) {
        return absl::InvalidArgumentError(f + ": every price of an order must use the same "
                                              "currency (" + currency + ")");
      }
    }
    needs_installation |= item.needs_installation();
  }
  if (cmd.has_requested_installation()) {
    RETURN_IF_ERROR(domain::ValidateWindow("requested_installation", cmd.requested_installation()));
  } else if (needs_installation) {
    return absl::InvalidArgumentError(
        "requested_installation: an order with installation needs the window the customer asked "
        "for");
  }
  for (int i = 0; i < cmd.commitments_size(); ++i) {
    const auto& c = cmd.commitments(i);
    std::string f = Indexed("commitments", i);
    RETURN_IF_ERROR(ValidateText(f + ".text", c.text(), domain::kMaxTextLength));
    RETURN_IF_ERROR(domain::ValidateDepartment(f + ".owner", c.owner()));
    RETURN_IF_ERROR(domain::ValidateTimestamp(f + ".due_by", c.due_by()));
  }
  RETURN_IF_ERROR(RequireRegistered(s));

  domain::Events events(1);
  auto* p = events[0].mutable_order_placed();
  p->set_order_id(ctx.new_id("ord"));
  for (const auto& in : cmd.items()) {
    auto* item = p->add_items();
    item->set_item_id(ctx.new_id("itm"));
    item->set_sku(in.sku());
    item->set_description(in.description());
    *item->mutable_one_off_price() = in.one_off_price();
    *item->mutable_monthly_price() = in.monthly_price();
    item->set_needs_installation(in.needs_installation());
  }
  if (cmd.has_requested_installation()) {
    *p->mutable_requested_installation() = cmd.requested_installation();
  }
  for (const auto& in : cmd.commitments()) {
    auto* c = p->add_commitments();
    c->set_commitment_id(ctx.new_id("cmt"));
    c->set_text(in.text());
    c->set_owner(in.owner());
    *c->mutable_due_by() = in.due_by();
  }
  return events;
}

absl::StatusOr<domain::Events> Decide(const CustomerState& s, const v1::CancelOrderRequest& cmd,
                                      const domain::CommandContext&) {
  RETURN_IF_ERROR(domain::ValidateId("order_id", cmd.order_id(), "ord"));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireRegistered(s));
  auto it = s.orders.find(cmd.order_id());
  if (it == s.orders.end()) {
    return absl::NotFoundError("order " + cmd.order_id() + " not found for this customer");
  }
  if (it->second.cancelled) {
    return absl::FailedPreconditionError("order " + cmd.order_id() + " is already cancelled");
  }
  domain::Events events(1);
  auto* p = events[0].mutable_order_cancelled();
  p->set_order_id(cmd.order_id());
  p->set_reason(cmd.reason());
  return events;
}

absl::StatusOr<domain::Events> Decide(const CustomerState& s, const v1::SwitchProductRequest& cmd,
                                      const domain::CommandContext&) {
  RETURN_IF_ERROR(ValidateText("from_sku", cmd.from_sku(), domain::kMaxIdLength));
  RETURN_IF_ERROR(ValidateText("to_sku", cmd.to_sku(), domain::kMaxIdLength));
  if (cmd.from_sku() == cmd.to_sku()) {
    return absl::InvalidArgumentError("to_sku: must differ from from_sku");
  }
  RETURN_IF_ERROR(domain::ValidateTimestamp("effective_at", cmd.effective_at()));
  RETURN_IF_ERROR(ValidateText("note", cmd.note(), domain::kMaxTextLength, false));
  RETURN_IF_ERROR(RequireRegistered(s));
  domain::Events events(1);
  auto* p = events[0].mutable_product_switched();
  p->set_from_sku(cmd.from_sku());
  p->set_to_sku(cmd.to_sku());
  *p->mutable_effective_at() = cmd.effective_at();
  p->set_note(cmd.note());
  // A switch migrated from history happened then, not now.
  *events[0].mutable_occurred_at() = cmd.effective_at();
  return events;
}

absl::StatusOr<domain::Events> Decide(const CustomerState& s, const v1::LogContactRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(domain::ValidateEnum("direction", cmd.direction(), v1::ContactDirection_IsValid));
  RETURN_IF_ERROR(ValidateText("outcome", cmd.outcome(), domain::kMaxNameLength));
  RETURN_IF_ERROR(ValidateText("note", cmd.note(), domain::kMaxTextLength, false));
  RETURN_IF_ERROR(RequireRegistered(s));
  domain::Events events(1);
  auto* p = events[0].mutable_contact_logged();
  p->set_direction(cmd.direction());
  p->set_contact_channel(ctx.channel);
  p->set_outcome(cmd.outcome());
  p->set_note(cmd.note());
  return events;
}

}  // namespace threadline::sales
