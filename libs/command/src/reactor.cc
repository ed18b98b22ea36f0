#include "threadline/command/reactor.h"

#include <set>

#include "threadline/common/ids.h"
#include "threadline/common/log.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/envelope_check.h"
#include "threadline/privacy/sealing_store.h"

namespace threadline::command {
namespace {
const Logger& Log() {
  static const Logger* log = new Logger("reactor");
  return *log;
}

struct Registry {
  std::mutex mu;
  std::set<const Reactor*> running;  // guarded by mu
};
Registry& Running() {
  static auto* registry = new Registry;
  return *registry;
}
}  // namespace

domain::CommandContext ReactionContext(const Env& env) {
  const Clock* clock = env.clock ? env.clock : &Clock::Real();
  domain::CommandContext ctx;
  ctx.now = clock->Now();
  ctx.channel = v1::CHANNEL_SYSTEM;
  ctx.actor.set_principal(env.service + "-reactions");
  ctx.actor.set_role("system");
  ctx.new_id = [clock](std::string_view prefix) { return NewId(prefix, *clock); };
  return ctx;
}

bool IsUnfixable(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s);
}

void ParkReaction(const Logger& log, const v1::EventEnvelope& in, const absl::Status& why,
                  std::string_view remedy, ReactionCounters* counters) {
  if (counters) ++counters->parked;
  log.Error(domain::Cat("reaction parked: event cannot be applied and is skipped; ", remedy),
            {{"event_id", in.event_id()},
             {"event_type", domain::EventType(in)},
             {"customer_id", in.customer_id()},
             {"error", why.ToString()}});
}

absl::StatusOr<Applied> ApplyReactions(const Env& env, std::string_view consumer,
                                       const v1::EventEnvelope& source,
                                       std::vector<Reaction> reactions) {
  Applied applied;
  for (size_t i = 0; i < reactions.size(); ++i) {
    Reaction& r = reactions[i];
    Write w;
    w.target = r.target;
    w.stamp.channel = v1::CHANNEL_SYSTEM;
    w.stamp.actor.set_principal(env.service + "-reactions");
    w.stamp.actor.set_role("system");
    w.stamp.correlation_id = source.correlation_id();
    w.stamp.causation_id = source.event_id();
    // One key per (consumer, causing event, reaction): a re-delivered
    // message finds its reactions already applied.
    w.idempotency_key = std::string(consumer) + "/" + source.event_id() + "/" + std::to_string(i);
    w.fingerprint = w.idempotency_key;
    w.record_empty = false;
    ASSIGN_OR_RETURN(Outcome o, r.write(env, w));
    if (o.replayed) {
      ++applied.replayed;
    } else if (!o.events.empty()) {
      ++applied.appended;
    }
  }
  return applied;
}

std::vector<ReactorSnapshot> RunningReactors() {
  std::vector<ReactorSnapshot> out;
  Registry& r = Running();
  // Held while reading: Stop() unregisters under the same lock, so no
  // reactor goes away mid-read.
  std::lock_guard lock(r.mu);
  for (const Reactor* reactor : r.running) {
    out.push_back({reactor->consumer(), reactor->Stats(), reactor->Positions()});
  }
  return out;
}

Reactor::Reactor(Env env, bus::Bus* bus, ReactorOptions options, ReactFn react)
    : env_(std::move(env)), bus_(bus), options_(std::move(options)), react_(std::move(react)) {}

Reactor::~Reactor() { Stop(); }

absl::Status Reactor::Start() {
  bus::OffsetConsumerOptions o;
  o.name = options_.consumer;
  o.topics = options_.topics;
  o.batch_size = options_.batch_size;
  o.poll_wait = options_.poll_wait;
  o.failure = "reaction";
  o.log = Log();
  auto load = [this]() -> absl::StatusOr<bus::Offsets> {
    ASSIGN_OR_RETURN(auto stored, env_.store->LoadOffsets(options_.consumer));
    bus::Offsets offsets;
    for (const auto& s : stored) offsets[{s.topic, s.partition}] = s.next_offset;
    return offsets;
  };
  auto apply = [this](const std::vector<bus::Message>& batch, const bus::Offsets& next) {
    return ApplyBatch(batch, next);
  };
  ASSIGN_OR_RETURN(consumer_, bus::OffsetConsumer::Open(bus_, std::move(o), load, apply));
  consumer_->Start();
  {
    std::lock_guard lock(Running().mu);
    Running().running.insert(this);
  }
  return absl::OkStatus();
}

void Reactor::Stop() {
  if (!consumer_) return;
  {
    std::lock_guard lock(Running().mu);
    Running().running.erase(this);
  }
  consumer_->Stop();
}

bool Reactor::CaughtUp() const { return consumer_ && consumer_->CaughtUp(); }

std::vector<ConsumerPosition> Reactor::Positions() const {
  std::vector<ConsumerPosition> out;
  if (!consumer_) return out;
  for (const auto& [tp, next] : consumer_->Positions()) {
    out.push_back({options_.consumer, tp, next});
  }
  return out;
}

ReactorStats Reactor::Stats() const {
  ReactorStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  if (consumer_) {
    bus::OffsetConsumerStats c = consumer_->Stats();
    s.consumed = c.consumed;
    s.errors = c.errors;
  }
  return s;
}

absl::Status Reactor::Handle(const bus::Message& m) {
  v1::EventEnvelope source;
  // Checked before any field reaches a stream name, an idempotency key or
  // a decision (and the size before parsing). Skipping moves on: the same
  // bytes would fail again.
  absl::Status invalid = domain::CheckEnvelopeSize(m.value.size());
  if (invalid.ok()) {
    if (!source.ParseFromString(m.value) || source.event_id().empty()) {
      std::lock_guard lock(mu_);
      ++stats_.skipped;
      return absl::OkStatus();
    }
    invalid = domain::ValidateEnvelope(source);
  }
  if (!invalid.ok()) {
    {
      std::lock_guard lock(mu_);
      ++stats_.skipped;
      ++stats_.invalid;
    }
    if (invalid_log_.Allow()) {
      Log().Error("invalid envelope skipped: it never reaches a reaction",
                  {{"consumer", options_.consumer},
                   {"topic", m.topic},
                   {"partition", m.partition},
                   {"offset", m.offset},
                   {"error", invalid.ToString()}});
    }
    return absl::OkStatus();
  }
  // Sealed personal fields are opened for the reaction to decide on; an
  // erased customer's read as empty. One that does not open was altered or
  // moved: skipped like any invalid envelope, never decided on.
  if (env_.keys) {
    if (absl::Status sealed = privacy::OpenOne(*env_.keys, source); !sealed.ok()) {
      if (!absl::IsDataLoss(sealed)) return sealed;  // the vault is unreachable: retry
      {
        std::lock_guard lock(mu_);
        ++stats_.skipped;
        ++stats_.invalid;
      }
      if (invalid_log_.Allow()) {
        Log().Error("event with a sealed field that does not open skipped",
                    {{"consumer", options_.consumer},
                     {"topic", m.topic},
                     {"partition", m.partition},
                     {"offset", m.offset},
                     {"error", sealed.ToString()}});
      }
      return absl::OkStatus();
    }
  }
  // Each reaction decides on its aggregate as it stands when written (the
  // write path), so a command that changed it meanwhile needs no retry here.
  ASSIGN_OR_RETURN(std::vector<Reaction> reactions, react_(source));
  ASSIGN_OR_RETURN(Applied applied,
                   ApplyReactions(env_, options_.consumer, source, std::move(reactions)));
  std::lock_guard lock(mu_);
  stats_.reactions += applied.appended;
  stats_.replayed += applied.replayed;
  return absl::OkStatus();
}

absl::Status Reactor::ApplyBatch(const std::vector<bus::Message>& batch, const bus::Offsets& next) {
  for (const auto& m : batch) RETURN_IF_ERROR(Handle(m));
  // Offsets move only after every reaction of the batch is stored; a
  // crash in between re-delivers, and the idempotency keys absorb it.
  return CommitOffsets(next);
}

absl::Status Reactor::CommitOffsets(const bus::Offsets& next) {
  eventstore::StateWrite write;
  for (const auto& [tp, offset] : next) {
    write.offsets.push_back({options_.consumer, tp.topic, tp.partition, offset});
  }
  return env_.store->Write(std::move(write)).status();
}

}  // namespace threadline::command
