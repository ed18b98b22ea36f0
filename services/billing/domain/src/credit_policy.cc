// The credit rules of the operator's policy, as billing's decisions take
// them. Apart from domain.cc so that the pure rules build without the policy
// library (the envelope fuzzer compiles domain.cc alone).

#include "threadline/billing/domain.h"
#include "threadline/policy/policy.h"

namespace threadline::billing {

CreditPolicy CreditPolicy::From(const policy::Policy& policy) {
  CreditPolicy p;
  for (const auto& [role, rights] : policy.roles()) {
    if (rights.approves_credits) p.approvers.insert(role);
    if (!rights.unlimited_credit && !rights.credit_limit) continue;
    Limit limit;
    if (!rights.unlimited_credit) {
      limit.per_grant = rights.credit_limit->amount_minor();
      limit.currency = rights.credit_limit->currency();
    }
    if (rights.credit_limit_per_30_days) {
      limit.per_30_days = rights.credit_limit_per_30_days->amount_minor();
      if (limit.currency.empty()) limit.currency = rights.credit_limit_per_30_days->currency();
    }
    p.limits[role] = std::move(limit);
  }
  return p;
}

CreditPolicy CreditPolicy::Defaults() { return From(policy::Policy::Defaults()); }

}  // namespace threadline::billing
