#pragma once

// Messages the journey cannot read, parked untouched on domain::kDeadLetterTopic
// with headers saying why and where they came from, before the projector's
// offsets move past them.

#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "threadline/bus/bus.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Thread-safe. `publisher` may be null (a projector that does not publish:
// nothing is parked, the reason is only counted and logged by the caller);
// it must outlive this.
class DeadLetters {
 public:
  DeadLetters(bus::Publisher* publisher, std::string instance)
      : publisher_(publisher), instance_(std::move(instance)) {}

  // Publishes `m` to domain::kDeadLetterTopic with `reason`.
  void Park(const bus::Message& m, const std::string& reason);
  // Parks a journey update the journey topic cannot take (too large): its
  // entry's ids, kind and time, without its text (the timeline keeps it
  // whole), with `reason`. `done` gets the delivery report; on an error
  // before publishing it is not called and the error is returned.
  [[nodiscard]] absl::Status ParkUpdate(const v1::JourneyUpdate& update, const std::string& reason,
                                        bus::DeliveryCallback done);
  // Waits until every message parked so far is on the topic; UNAVAILABLE if
  // one could not be parked (the batch must then not be committed).
  [[nodiscard]] absl::Status Confirm();

 private:
  void Failed();
  std::vector<bus::Header> Headers(const std::string& reason, const std::string& source_topic);

  bus::Publisher* publisher_;
  std::string instance_;
  std::mutex mu_;
  bool failed_ = false;  // guarded by mu_
};

}  // namespace threadline::journey
