#pragma once

#include <string>
#include <string_view>

#include "threadline/common/clock.h"

namespace threadline {

// A UUIDv7 (RFC 9562) in canonical lowercase text form. Ids sort by creation
// time, which keeps RocksDB keys and timelines roughly in insertion order.
// Thread-safe.
std::string NewUuidV7(const Clock& clock = Clock::Real());

// Prefixed, human-friendly id such as "cus_0190f1c2...": the prefix says what
// kind of thing the id names, so a customer id pasted where an order id is
// expected is caught at the edge.
std::string NewId(std::string_view prefix, const Clock& clock = Clock::Real());

// True if `id` looks like an id produced by NewId(prefix).
bool HasIdShape(std::string_view id, std::string_view prefix);

}  // namespace threadline
