#pragma once

// Reading a customer's timeline and context card from the journey store.

#include <string>

#include "absl/status/statusor.h"
#include "store.h"
#include "threadline/common/clock.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// A page of the customer's timeline in timeline order, filtered by
// department, channel and time range; NOT_FOUND for a customer without a
// journey. The page token is the last entry's order, in hex.
absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const JourneyStore& store,
                                                    const v1::GetTimelineRequest& request);

// The stored card with its time-dependent parts computed for `now`;
// NOT_FOUND for a customer without a journey.
absl::StatusOr<v1::CustomerContext> GetCustomerContext(const JourneyStore& store,
                                                       const std::string& customer, TimePoint now);

}  // namespace threadline::journey
