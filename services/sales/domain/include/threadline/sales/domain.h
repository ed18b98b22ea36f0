#pragma once

// Sales domain: the customer aggregate (identity, contact points, orders,
// products). Pure functions; thread-safe because they share nothing.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "threadline/domain/domain.h"
#include "threadline/v1/sales.pb.h"

namespace threadline::sales {

struct OrderState {
  bool cancelled = false;
  std::vector<v1::OrderItem> items;
};

struct CustomerState {
  bool registered = false;
  std::string name;
  std::vector<std::string> phone_numbers;
  std::vector<std::string> emails;
  std::map<std::string, OrderState> orders;
  std::set<std::string> products;  // current skus
};

void Evolve(CustomerState& state, const v1::EventEnvelope& event);

// RegisterCustomer creates the aggregate; `customer_id` was chosen by the
// service. The result's phone numbers and e-mails are normalised.
absl::StatusOr<domain::Events> Decide(const CustomerState& state,
                                      const v1::RegisterCustomerRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const std::string& customer_id);
absl::StatusOr<domain::Events> Decide(const CustomerState& state,
                                      const v1::PlaceOrderRequest& cmd,
                                      const domain::CommandContext& ctx);
absl::StatusOr<domain::Events> Decide(const CustomerState& state,
                                      const v1::CancelOrderRequest& cmd,
                                      const domain::CommandContext& ctx);
absl::StatusOr<domain::Events> Decide(const CustomerState& state,
                                      const v1::SwitchProductRequest& cmd,
                                      const domain::CommandContext& ctx);
absl::StatusOr<domain::Events> Decide(const CustomerState& state,
                                      const v1::LogContactRequest& cmd,
                                      const domain::CommandContext& ctx);

}  // namespace threadline::sales
