#pragma once

// The support department as a service: tickets and callbacks over gRPC
// (SupportService), the contact directory fed from sales' events
// (NewDirectoryReaction) and the SLA timer (SlaTimer). README.md has the
// indexes and the reasoning.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "threadline/command/department.h"
#include "threadline/command/reactor.h"
#include "threadline/command/runner.h"
#include "threadline/policy/holder.h"
#include "threadline/support/domain.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::support {

// Support's claim indexes whose values start with a phone number or an
// e-mail ("<value>/<owner>"): stored blinded under sealing.
std::set<std::string> PersonalIndexes();

// Support command and query logic over an event store; no server wiring.
// Thread-safe; the store (and clock) must outlive it.
//
// A ticket for a customer id support has never seen is accepted when the id
// has the right shape: support learns customers from sales' events, which
// may lag behind the agent who just registered the customer.
class SupportService {
 public:
  // `policy` (the operator's, reloaded on SIGHUP) must outlive the
  // service; null: the shipped defaults.
  explicit SupportService(command::Env env, const policy::Holder* policy = nullptr)
      : env_(std::move(env)), policy_(policy) {}

  absl::StatusOr<v1::OpenTicketResponse> OpenTicket(const command::Invocation& inv,
                                                    const v1::OpenTicketRequest& r);
  absl::StatusOr<v1::RecordMissedCallResponse> RecordMissedCall(
      const command::Invocation& inv, const v1::RecordMissedCallRequest& r);
  absl::StatusOr<v1::AddInteractionResponse> AddInteraction(const command::Invocation& inv,
                                                            const v1::AddInteractionRequest& r);
  absl::StatusOr<v1::SetTicketWaitingResponse> SetTicketWaiting(
      const command::Invocation& inv, const v1::SetTicketWaitingRequest& r);
  absl::StatusOr<v1::ResumeTicketResponse> ResumeTicket(const command::Invocation& inv,
                                                        const v1::ResumeTicketRequest& r);
  absl::StatusOr<v1::AssignTicketResponse> AssignTicket(const command::Invocation& inv,
                                                        const v1::AssignTicketRequest& r);
  absl::StatusOr<v1::EscalateTicketResponse> EscalateTicket(const command::Invocation& inv,
                                                            const v1::EscalateTicketRequest& r);
  absl::StatusOr<v1::ResolveTicketResponse> ResolveTicket(const command::Invocation& inv,
                                                          const v1::ResolveTicketRequest& r);
  absl::StatusOr<v1::ReopenTicketResponse> ReopenTicket(const command::Invocation& inv,
                                                        const v1::ReopenTicketRequest& r);
  absl::StatusOr<v1::ScheduleCallbackResponse> ScheduleCallback(
      const command::Invocation& inv, const v1::ScheduleCallbackRequest& r);
  absl::StatusOr<v1::CompleteCallbackResponse> CompleteCallback(
      const command::Invocation& inv, const v1::CompleteCallbackRequest& r);
  // NOT_FOUND for an unknown ticket.
  absl::StatusOr<v1::Ticket> GetTicket(const v1::GetTicketRequest& r);

 private:
  // The policy in force now; a command keeps the one it got throughout.
  std::shared_ptr<const SlaPolicy> Policy() const;

  command::Env env_;
  const policy::Holder* policy_;
};

// The gRPC face of SupportService: authenticates, authorises, converts.
std::unique_ptr<grpc::Service> NewSupportGrpc(SupportService* service);

// Consumer name under which the directory reaction stores its offsets.
inline constexpr char kDirectoryConsumer[] = "support.directory";

// Reaction to sales' events: CustomerRegistered puts the customer's numbers
// and e-mails into support's directory and links the missed calls waiting
// under those numbers (MissedCallLinked on each callback's stream).
// Idempotent under re-delivery. For a command::Reactor on
// threadline.sales.v1 built with the same env; env.store must outlive it.
command::ReactFn NewDirectoryReaction(command::Env env);

struct SlaTimerOptions {
  // Time between two passes of the background thread. Default: 5 s.
  std::chrono::milliseconds interval{5000};
  // Index entries read per scan. Default: 256.
  size_t scan_batch = 256;
};

struct SlaTimerStats {
  uint64_t passes = 0;
  uint64_t breaches = 0;  // SlaBreached appended
  uint64_t at_risk = 0;   // SlaAtRisk appended
  uint64_t stale = 0;     // index entries dropped without a breach
  uint64_t errors = 0;
};

// Appends SlaAtRisk and SlaBreached for every open ticket and callback whose
// at-risk or due time has passed, once per due time, reading "now" from the
// injected clock.
// Lifecycle: construct, optionally Start() a background thread that calls
// Tick() every interval, Stop(). Tick() may also be called directly (tests
// do). Thread-safe; env.store and env.clock must outlive it.
class SlaTimer {
 public:
  SlaTimer(command::Env env, SlaTimerOptions options = {});
  ~SlaTimer();
  [[nodiscard]] absl::Status Start();
  void Stop();
  // One pass over the due deadlines; returns the number of breaches appended.
  absl::StatusOr<size_t> Tick();
  SlaTimerStats Stats() const;

 private:
  // What became of an index entry.
  enum class Outcome { kBreached, kWarned, kDropped, kKept };
  absl::StatusOr<size_t> Sweep(const char* index);
  absl::StatusOr<Outcome> Process(const char* index, const std::string& value,
                                  const std::string& owner, TimePoint now);
  void Loop();

  command::Env env_;
  SlaTimerOptions options_;
  std::mutex tick_mu_;  // one pass at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  SlaTimerStats stats_;
  std::thread thread_;
};

// Support as the suite runs it: the gRPC service, the directory reactor on
// threadline.sales.v1 and the SLA timer; Start() starts both.
std::unique_ptr<command::Department> NewSupportDepartment(const command::DepartmentDeps& deps);

}  // namespace threadline::support
