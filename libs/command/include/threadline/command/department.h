#pragma once

// What the suite needs of a department service: its gRPC face and the
// background work (reactions to other departments, timers) that runs
// beside it. Each service provides a factory returning one of these.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "threadline/bus/bus.h"
#include "threadline/common/clock.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::privacy {
class KeySource;
}
namespace threadline::policy {
class Holder;
}

namespace threadline::command {

// Everything a department is built from. All pointers are borrowed and
// must outlive the department.
struct DepartmentDeps {
  eventstore::EventStore* store = nullptr;
  bus::Bus* bus = nullptr;
  const Clock* clock = nullptr;  // nullptr: the real clock
  // The data keys `store` seals with, for reactions that read sealed
  // events from topics; null: nothing is sealed.
  privacy::KeySource* keys = nullptr;
  // The operator's policy (SLA targets, calendars, credit limits), reloaded
  // on SIGHUP; must outlive the department. Null: the shipped defaults.
  const policy::Holder* policy = nullptr;
};

// A running department. Lifecycle: construct, Start(), serve grpc(),
// Stop(). Thread-safe after Start().
class Department {
 public:
  virtual ~Department() = default;
  virtual grpc::Service* grpc() = 0;
  // Starts reactors and timers.
  [[nodiscard]] virtual absl::Status Start() { return absl::OkStatus(); }
  // Stops them; the gRPC server must be shut down first.
  virtual void Stop() {}
  // False while reactions are still catching up with the bus (readiness).
  virtual bool CaughtUp() const { return true; }
};

}  // namespace threadline::command
