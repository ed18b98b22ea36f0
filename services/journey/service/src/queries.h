#pragma once

// Reading a customer's timeline and context card from the journey store.

#include <string>

#include "absl/status/statusor.h"
#include "personal.h"
#include "store.h"
#include "threadline/common/clock.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// A page of the customer's timeline in timeline order, filtered by
// department, channel and time range, each entry opened (personal.h);
// NOT_FOUND for a customer without a journey. The page token is the last
// entry's order, in hex.
absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const JourneyStore& store,
                                                    const v1::GetTimelineRequest& request,
                                                    Personal& personal);

// The stored card, opened, with its time-dependent parts computed for
// `now` and its lists bounded (BoundCard); NOT_FOUND for a customer without
// a journey.
absl::StatusOr<v1::CustomerContext> GetCustomerContext(const JourneyStore& store,
                                                       const std::string& customer, TimePoint now,
                                                       Personal& personal);

// Everything the journey holds about the customer: the whole card (as
// GetCustomerContext, no list bounded) and every stored event, opened, in timeline order.
// NOT_FOUND for a customer without a journey.
absl::StatusOr<v1::CustomerDataExport> ExportCustomer(const JourneyStore& store,
                                                      const std::string& customer, TimePoint now,
                                                      Personal& personal);

}  // namespace threadline::journey
