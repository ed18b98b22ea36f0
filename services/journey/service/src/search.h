#pragma once

// Finding a customer by phone number (in any format), e-mail or name: the
// search family of the journey store (keyspace.h), written from
// registrations and read by FindCustomer.

#include <rocksdb/write_batch.h>

#include <string>

#include "absl/status/statusor.h"
#include "store.h"
#include "threadline/v1/journey.pb.h"
#include "threadline/v1/sales.pb.h"

namespace threadline::journey {

// Stages the search entries of a registered customer in `batch`.
void IndexCustomer(const JourneyStore& store, rocksdb::WriteBatch& batch,
                   const std::string& customer, const v1::CustomerRegistered& registered);

// The customers matching `request.query()`: an e-mail exactly, a phone
// number in E.164 exactly or, typed the national way, by its last digits,
// and names by prefix (case-insensitive). Each match carries the card's name.
absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const JourneyStore& store,
                                                      const v1::FindCustomerRequest& request);

}  // namespace threadline::journey
