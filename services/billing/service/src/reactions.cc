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

// The decided events on the customer's account as one reaction. An
// unfixable answer comes back as that status, for the caller to park.
absl::StatusOr<command::Reaction> OnAccount(const command::Env& env, const v1::EventEnvelope& in,
                                            ReactToFn react) {
  if (in.customer_id().empty()) {
    return absl::InvalidArgumentError("event has no customer_id; it cannot be routed");
  }
  command::Reaction r;
  r.target = command::Target{std::string(kAccountAggregate), in.customer_id(), in.customer_id()};
  ASSIGN_OR_RETURN(auto events, env.store->ReadStream(r.target.Stream()));
  AccountState state;
  for (const auto& e : events) Evolve(state, e);
  r.expected_version = events.empty() ? 0 : events.back().version();
  ASSIGN_OR_RETURN(r.events, react(state, in, command::ReactionContext(env)));
  return r;
}

// Remembers an order whose charges will never be scheduled, so its
// InstallationCompleted does not wait for them forever.
absl::Status RememberParkedOrder(eventstore::EventStore& store, const v1::EventEnvelope& in) {
  // Without an order id no InstallationCompleted can name it either.
  if (in.order_placed().order_id().empty()) return absl::OkStatus();
  eventstore::AppendRequest append;
  append.stream = "billing-parked";
  append.claims.push_back({kParkedOrders, in.order_placed().order_id(),
                           in.customer_id().empty() ? "unknown" : in.customer_id()});
  auto result = store.Append(std::move(append));
  // Parked before (a re-delivery): the claim is already there.
  if (absl::IsAlreadyExists(result.status())) return absl::OkStatus();
  return result.status();
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
    auto r = OnAccount(env, in, react);
    if (command::IsUnfixable(r.status())) {
      if (in.has_order_placed()) RETURN_IF_ERROR(RememberParkedOrder(*env.store, in));
      Park(in, r.status(), counters);
      return reactions;
    }
    RETURN_IF_ERROR(r.status());
    reactions.push_back(std::move(*r));
    return reactions;
  };
}

command::ReactFn NewInstallationReaction(command::Env env, ReactionCounters* counters) {
  return [env,
          counters](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<command::Reaction>> {
    std::vector<command::Reaction> reactions;
    if (!in.has_installation_completed()) return reactions;
    auto r = OnAccount(env, in, &ReactToInstallationCompleted);
    if (absl::IsUnavailable(r.status())) {
      ASSIGN_OR_RETURN(auto parked,
                       env.store->FindClaim(kParkedOrders, in.installation_completed().order_id()));
      if (parked) {
        Park(in, r.status(), counters);
        return reactions;
      }
      return r.status();  // the reactor retries it from the stored offset
    }
    if (command::IsUnfixable(r.status())) {
      Park(in, r.status(), counters);
      return reactions;
    }
    RETURN_IF_ERROR(r.status());
    reactions.push_back(std::move(*r));
    return reactions;
  };
}

command::ReactorOptions SalesReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kSalesConsumer;
  o.topics = {"threadline.sales.v1"};
  return o;
}

command::ReactorOptions InstallationReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kInstallationConsumer;
  o.topics = {"threadline.installation.v1"};
  return o;
}

}  // namespace threadline::billing
