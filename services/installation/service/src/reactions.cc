// The sales reaction: OrderPlaced -> WorkOrderCreated, OrderCancelled ->
// WorkOrderCancelled.
//
// The domain's OrderIndex (order -> work orders) is rebuilt per event from
// the "wo_by_order" claims and the few work order streams they name, so the
// cost of a reaction does not grow with the number of orders.
//
// A new work order's index claims travel in its Reaction, so the reactor
// writes them in the same append as the event: a crash can never leave a
// work order the index does not know, and a re-delivered OrderPlaced finds
// the claim (or the reactor's idempotency key) and creates nothing twice.

#include "threadline/common/ids.h"
#include "threadline/common/log.h"
#include "threadline/domain/topics.h"
#include "threadline/installation/service.h"

namespace threadline::installation {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("installation.reactions");
  return *log;
}

std::string Stream(const std::string& work_order_id) {
  return std::string(kWorkOrderAggregate) + "-" + work_order_id;
}

// What the domain needs to know about one order, from installation's store.
absl::StatusOr<OrderIndex> IndexOf(eventstore::EventStore& store, const std::string& order_id) {
  OrderIndex index;
  ASSIGN_OR_RETURN(auto claims,
                   store.ScanClaims(kWorkOrdersByOrder, order_id + "/", kMaxListedWorkOrders));
  for (const auto& [value, work_order_id] : claims) {
    ASSIGN_OR_RETURN(auto events, store.ReadStream(Stream(work_order_id)));
    for (const auto& e : events) Evolve(index, e);
  }
  return index;
}

void Park(const v1::EventEnvelope& in, const absl::Status& why, ReactionCounters* counters) {
  command::ParkReaction(Log(), in, why, "fix it by hand", counters);
}

absl::StatusOr<std::vector<command::Reaction>> OnOrderPlaced(const command::Env& env,
                                                             const v1::EventEnvelope& in,
                                                             ReactionCounters* counters) {
  const std::string& order_id = in.order_placed().order_id();
  ASSIGN_OR_RETURN(OrderIndex index, IndexOf(*env.store, order_id));
  const domain::CommandContext ctx = command::ReactionContext(env);
  auto decided = ReactToOrderPlaced(index, in, ctx);
  if (command::IsUnfixable(decided.status())) {
    Park(in, decided.status(), counters);
    return std::vector<command::Reaction>{};
  }
  RETURN_IF_ERROR(decided.status());
  domain::Events events = std::move(*decided);
  if (events.empty()) return std::vector<command::Reaction>{};

  const std::string work_order_id = events.front().work_order_created().work_order_id();
  const std::string customer_id = events.front().customer_id();
  command::Decision d(std::move(events));
  d.claims.push_back({kWorkOrdersByOrder, order_id + "/" + work_order_id, work_order_id});
  d.claims.push_back({kWorkOrdersByCustomer, customer_id + "/" + work_order_id, work_order_id});
  // A new work order: its id was just drawn, so its stream is empty.
  command::Reaction r = command::ReactOn<WorkOrderState>(
      command::Target{std::string(kWorkOrderAggregate), work_order_id, customer_id},
      [d](const WorkOrderState&,
          const domain::CommandContext&) -> absl::StatusOr<command::Decision> { return d; });
  Log().Info("work order decided", {{"work_order_id", work_order_id},
                                    {"order_id", order_id},
                                    {"customer_id", customer_id},
                                    {"causation_id", in.event_id()}});
  std::vector<command::Reaction> reactions;
  reactions.push_back(std::move(r));
  return reactions;
}

absl::StatusOr<std::vector<command::Reaction>> OnOrderCancelled(const command::Env& env,
                                                                const v1::EventEnvelope& in,
                                                                ReactionCounters* counters) {
  const std::string& order_id = in.order_cancelled().order_id();
  ASSIGN_OR_RETURN(OrderIndex index, IndexOf(*env.store, order_id));
  auto decided = ReactToOrderCancelled(index, in, command::ReactionContext(env));
  if (command::IsUnfixable(decided.status())) {
    Park(in, decided.status(), counters);
    return std::vector<command::Reaction>{};
  }
  RETURN_IF_ERROR(decided.status());
  // One reaction per work order of the order, closed ones included (with no
  // events): the reactor keys each append by its place in this list, which
  // must not shift when a re-delivery finds some already cancelled.
  std::vector<command::Reaction> reactions;
  auto it = index.by_order.find(order_id);
  if (it == index.by_order.end()) return reactions;
  for (const auto& ref : it->second) {
    // Decided again on the work order as it stands when written: a command
    // may have closed it since the index was read.
    const std::string work_order_id = ref.work_order_id;
    reactions.push_back(command::ReactOn<OrderIndex>(
        command::Target{std::string(kWorkOrderAggregate), work_order_id,
                        ref.customer_id.empty() ? in.customer_id() : ref.customer_id},
        [in, work_order_id](const OrderIndex& one, const domain::CommandContext& ctx)
            -> absl::StatusOr<command::Decision> {
          auto decided = ReactToOrderCancelled(one, in, ctx);
          // Unfixable input was parked above, from the whole index.
          if (!decided.ok()) return command::Decision();
          command::Decision d;
          for (auto& e : *decided) {
            if (WorkOrderIdOf(e) == work_order_id) d.events.push_back(std::move(e));
          }
          return d;
        }));
  }
  return reactions;
}

}  // namespace

command::ReactFn NewSalesReaction(command::Env env, ReactionCounters* counters) {
  return [env,
          counters](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<command::Reaction>> {
    if (in.has_order_placed()) return OnOrderPlaced(env, in, counters);
    if (in.has_order_cancelled()) return OnOrderCancelled(env, in, counters);
    return std::vector<command::Reaction>{};
  };
}

command::ReactorOptions SalesReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kSalesConsumer;
  o.topics = {domain::kSalesTopic};
  return o;
}

}  // namespace threadline::installation
