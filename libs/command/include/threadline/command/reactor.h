#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/command/runner.h"
#include "threadline/common/log.h"

namespace threadline::command {

// One aggregate write a reaction wants: made by ReactOn, decided on the
// aggregate's current state inside the one write path (write.h), so a
// command that changed the aggregate meanwhile is simply seen.
struct Reaction {
  Target target;
  // Runs the write (WriteAggregate with the reaction's State and decision).
  std::function<absl::StatusOr<Outcome>(const Env&, const Write&)> write;
};

// A reaction on `target` deciding with `decide(const State&, const
// domain::CommandContext&) -> absl::StatusOr<Decision>`; `decide` may run
// again on a re-delivery and must have no effects of its own.
template <typename State, typename DecideFn>
Reaction ReactOn(Target target, DecideFn decide) {
  Reaction r;
  r.target = std::move(target);
  r.write = [decide = std::move(decide)](const Env& env, const Write& w) {
    return WriteAggregate<State>(env, w, decide);
  };
  return r;
}

// The reactions to one event of another department: which aggregates to
// write, each with the decision to make on it. It may read the store (an
// index, say); the aggregates themselves are read by the write path.
using ReactFn = std::function<absl::StatusOr<std::vector<Reaction>>(const v1::EventEnvelope&)>;

// The context a reaction decides in: now, the system channel, the
// service's "-reactions" principal with role "system", ids from env.clock.
domain::CommandContext ReactionContext(const Env& env);

// Input no retry can fix (INVALID_ARGUMENT, FAILED_PRECONDITION): a
// reaction gives up on it loudly and lets the partition move on.
bool IsUnfixable(const absl::Status& s);

// Reactions given up on. Thread-safe.
struct ReactionCounters {
  std::atomic<uint64_t> parked{0};
};

// Gives up on `in`: logs it at error level on `log` with the event id, type,
// customer and `why`, saying `remedy` ("bill it by hand"), and counts it in
// `counters` (may be null).
void ParkReaction(const Logger& log, const v1::EventEnvelope& in, const absl::Status& why,
                  std::string_view remedy, ReactionCounters* counters);

// What ApplyReactions stored: reactions appended now, and reactions an
// earlier delivery of the same event had already appended.
struct Applied {
  uint64_t appended = 0;
  uint64_t replayed = 0;
};

// Writes each reaction through the one write path, stamped with the system
// channel, the service's "-reactions" principal and causation = `source`,
// keyed by (consumer, source event, index in `reactions`): a re-delivery of
// `source` appends nothing, so the list must be the same on every delivery.
// A reaction that decides nothing appends nothing. This is what a Reactor
// does with each message.
absl::StatusOr<Applied> ApplyReactions(const Env& env, std::string_view consumer,
                                       const v1::EventEnvelope& source,
                                       std::vector<Reaction> reactions);

struct ReactorOptions {
  // Name under which offsets are stored, e.g. "installation.reactions".
  std::string consumer;
  // Topics consumed, e.g. {"threadline.sales.v1"}.
  std::vector<std::string> topics;
  // Messages per poll. Default: 500.
  size_t batch_size = 500;
  // Wait for the first message of a poll. Default: 100 ms.
  std::chrono::milliseconds poll_wait{100};
};

struct ReactorStats {
  uint64_t consumed = 0;
  uint64_t reactions = 0;  // appends made
  uint64_t replayed = 0;   // reactions already applied before (re-delivery)
  uint64_t skipped = 0;    // undecodable, foreign or invalid messages
  uint64_t invalid = 0;    // of skipped: failed domain::ValidateEnvelope, or a
                           // sealed field did not open
  uint64_t errors = 0;
};

// Where a consumer stands in one partition: the next offset it will read.
struct ConsumerPosition {
  std::string consumer;
  bus::TopicPartition tp;
  int64_t next_offset = 0;
};

// Consumes other departments' topics and appends this department's
// reactions. Each reaction is appended with an idempotency key derived from
// the causing event_id, and the consumed offsets are stored in the same
// store once a batch's reactions are in: a crash in between re-delivers
// messages whose reactions the keys already hold, so none applies twice.
//
// Owns one thread between Start() and Stop(); env.store and the bus must
// outlive it.
class Reactor {
 public:
  Reactor(Env env, bus::Bus* bus, ReactorOptions options, ReactFn react);
  ~Reactor();
  [[nodiscard]] absl::Status Start();
  void Stop();
  // True once every assigned partition reached its end offset as of Start().
  bool CaughtUp() const;
  ReactorStats Stats() const;
  // The next offset of every assigned partition (consumer lag = end offset
  // minus this).
  std::vector<ConsumerPosition> Positions() const;
  const std::string& consumer() const { return options_.consumer; }

 private:
  absl::Status Handle(const bus::Message& m);
  // The consumer's ApplyBatchFn: every message's reactions, then the offsets.
  absl::Status ApplyBatch(const std::vector<bus::Message>& batch, const bus::Offsets& next);
  absl::Status CommitOffsets(const bus::Offsets& next);

  Env env_;
  bus::Bus* bus_;
  ReactorOptions options_;
  ReactFn react_;
  std::unique_ptr<bus::OffsetConsumer> consumer_;  // set by Start()
  mutable std::mutex mu_;
  ReactorStats stats_;  // guarded by mu_; consumed and errors come from consumer_
  LogEvery invalid_log_{std::chrono::seconds(5)};
};

// One running reactor as the metrics endpoint sees it.
struct ReactorSnapshot {
  std::string consumer;
  ReactorStats stats;
  std::vector<ConsumerPosition> positions;
};

// Every reactor in this process between Start() and Stop(), so the suite can
// export consumer lag without each department handing its reactors up.
// Thread-safe.
std::vector<ReactorSnapshot> RunningReactors();

}  // namespace threadline::command
