// Billing's reactions: sales' OrderPlaced / OrderCancelled and
// installation's InstallationCompleted, each decided by the domain on the
// customer's account and appended by a command::Reactor.
//
// Two kinds of failure are told apart. UNAVAILABLE (the order's charges
// have not reached billing yet: the topics are not ordered with each other)
// goes back to the reactor, which retries the message from its stored
// offset. INVALID_ARGUMENT and FAILED_PRECONDITION (an order in a second
// currency) no retry can fix: they are logged at error level, counted and
// skipped, so one bad order never blocks the partition.

#include "threadline/billing/service.h"
#include "threadline/common/ids.h"
#include "threadline/common/log.h"
#include "threadline/domain/topics.h"

namespace threadline::billing {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("billing.reactions");
  return *log;
}

void Park(const v1::EventEnvelope& in, const absl::Status& why, ReactionCounters* counters) {
  command::ParkReaction(Log(), in, why, "bill it by hand", counters);
}

using ReactToFn = absl::StatusOr<domain::Events> (*)(const AccountState&, const v1::EventEnvelope&,
                                                     const domain::CommandContext&);

// Remembers an order whose charges will never be scheduled, so its
// InstallationCompleted does not wait for them forever. Written without an
// aggregate when there is no account to write it with.
absl::Status RememberParkedOrder(eventstore::EventStore& store, const v1::EventEnvelope& in) {
  // Without an order id no InstallationCompleted can name it either.
  if (in.order_placed().order_id().empty()) return absl::OkStatus();
  eventstore::StateWrite write;
  write.claims.push_back({kParkedOrders, in.order_placed().order_id(),
                          in.customer_id().empty() ? "unknown" : in.customer_id()});
  auto result = store.Write(std::move(write));
  // Parked before (a re-delivery): the claim is already there.
  if (absl::IsAlreadyExists(result.status())) return absl::OkStatus();
  return result.status();
}

// The claim that parks `in`'s order with the account's own write, unless
// it is held already (a re-delivery, or the same order id twice).
absl::StatusOr<std::vector<eventstore::UniqueClaim>> ParkedOrderClaim(eventstore::EventStore& store,
                                                                      const v1::EventEnvelope& in) {
  std::vector<eventstore::UniqueClaim> claims;
  const std::string& order_id = in.order_placed().order_id();
  if (!in.has_order_placed() || order_id.empty()) return claims;
  ASSIGN_OR_RETURN(auto holder, store.FindClaim(kParkedOrders, order_id));
  if (!holder) claims.push_back({kParkedOrders, order_id, in.customer_id()});
  return claims;
}

// The reaction on the customer's account: `react` decides on the account
// as it stands when written. Input no retry can fix is parked there and
// then (logged, counted, and for an order, remembered in the same write);
// UNAVAILABLE for a completion whose order was parked is parked too; any
// other UNAVAILABLE goes back to the reactor, which retries the message.
command::Reaction OnAccount(const command::Env& env, const v1::EventEnvelope& in, ReactToFn react,
                            ReactionCounters* counters) {
  return command::ReactOn<AccountState>(
      command::Target{std::string(kAccountAggregate), in.customer_id(), in.customer_id()},
      [env, in, react, counters](const AccountState& state, const domain::CommandContext& ctx)
          -> absl::StatusOr<command::Decision> {
        auto events = react(state, in, ctx);
        if (absl::IsUnavailable(events.status()) && in.has_installation_completed()) {
          ASSIGN_OR_RETURN(auto parked, env.store->FindClaim(
                                            kParkedOrders, in.installation_completed().order_id()));
          if (!parked) return events.status();
        } else if (!command::IsUnfixable(events.status())) {
          return events;
        }
        Park(in, events.status(), counters);
        command::Decision d;
        ASSIGN_OR_RETURN(d.claims, ParkedOrderClaim(*env.store, in));
        return d;
      });
}

// An event billing cannot route to an account: parked before any write.
std::vector<command::Reaction> Unroutable(const command::Env& env, const v1::EventEnvelope& in,
                                          ReactionCounters* counters, absl::Status* status) {
  Park(in, absl::InvalidArgumentError("event has no customer_id; it cannot be routed"), counters);
  if (in.has_order_placed()) *status = RememberParkedOrder(*env.store, in);
  return {};
}

}  // namespace

command::ReactFn NewSalesReaction(command::Env env, ReactionCounters* counters) {
  return [env,
          counters](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<command::Reaction>> {
    std::vector<command::Reaction> reactions;
    ReactToFn react = in.has_order_placed()      ? &ReactToOrderPlaced
                      : in.has_order_cancelled() ? &ReactToOrderCancelled
                                                 : nullptr;
    if (react == nullptr) return reactions;
    if (in.customer_id().empty()) {
      absl::Status s;
      reactions = Unroutable(env, in, counters, &s);
      RETURN_IF_ERROR(s);
      return reactions;
    }
    reactions.push_back(OnAccount(env, in, react, counters));
    return reactions;
  };
}

command::ReactFn NewInstallationReaction(command::Env env, ReactionCounters* counters) {
  return [env,
          counters](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<command::Reaction>> {
    std::vector<command::Reaction> reactions;
    if (!in.has_installation_completed()) return reactions;
    if (in.customer_id().empty()) {
      absl::Status s;
      reactions = Unroutable(env, in, counters, &s);
      RETURN_IF_ERROR(s);
      return reactions;
    }
    reactions.push_back(OnAccount(env, in, &ReactToInstallationCompleted, counters));
    return reactions;
  };
}

command::ReactorOptions SalesReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kSalesConsumer;
  o.topics = {domain::kSalesTopic};
  return o;
}

command::ReactorOptions InstallationReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kInstallationConsumer;
  o.topics = {domain::kInstallationTopic};
  return o;
}

}  // namespace threadline::billing
