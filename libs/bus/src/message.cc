#include "threadline/bus/bus.h"

namespace threadline::bus {

std::string Message::HeaderValue(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.key == name) return h.value;
  }
  return {};
}

absl::Status CheckSamePartitions(Bus& bus, const std::vector<std::string>& topics) {
  std::string first;
  int32_t count = 0;
  for (const auto& t : topics) {
    absl::StatusOr<int32_t> n = bus.PartitionCount(t);
    if (!n.ok()) return n.status();
    if (first.empty()) {
      first = t;
      count = *n;
    } else if (*n != count) {
      return absl::FailedPreconditionError(
          first + " has " + std::to_string(count) + " partitions and " + t + " has " +
          std::to_string(*n) +
          ": these topics must have the same partition count, so that one customer's events "
          "share a partition number in each (add partitions to the smaller ones, before any "
          "event is written to them, or start with topics made alike)");
    }
  }
  return absl::OkStatus();
}

}  // namespace threadline::bus
