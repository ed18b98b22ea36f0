#pragma once

// Finding a customer by phone number (in any format), e-mail or name: the
// search family of the journey store (keyspace.h), written from
// registrations and read by FindCustomer.
//
// Without sealing the entries hold the values in the clear. With it they
// hold keyed hashes (crypto.h Blind under the deployment's index key) of
// each normalised phone number, each of its digit suffixes of at least six
// digits (a number typed without its country code), each e-mail and each
// lower-case name prefix of up to kMaxIndexedNamePrefix bytes; longer name
// queries are checked against the opened card. Each blinded entry is also
// listed under its customer, so an erasure deletes them all.

#include <rocksdb/write_batch.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "personal.h"
#include "store.h"
#include "threadline/v1/journey.pb.h"
#include "threadline/v1/sales.pb.h"

namespace threadline::journey {

// Name prefixes longer than this are not indexed (blinded entries only).
inline constexpr size_t kMaxIndexedNamePrefix = 24;

// Stages the search entries of a registered customer in `batch` and returns
// their keys. `registered` is opened (plain text).
absl::StatusOr<std::vector<std::string>> IndexCustomer(const JourneyStore& store,
                                                       rocksdb::WriteBatch& batch,
                                                       const std::string& customer,
                                                       const v1::CustomerRegistered& registered,
                                                       Personal& personal);

// Stages the deletion of every search entry of `customer`: those its list
// names, `staged` (written earlier in the same batch), and the entries a
// build before sealing wrote in the clear for `clear` (registrations stored
// in the clear). An exact entry that now names another customer stays.
absl::Status UnindexCustomer(const JourneyStore& store, rocksdb::WriteBatch& batch,
                             const std::string& customer, const std::vector<std::string>& staged,
                             const std::vector<v1::CustomerRegistered>& clear);

// The customers matching `request.query()`: an e-mail exactly, a phone
// number in E.164 exactly or, typed the national way, by its last digits,
// and names by prefix (case-insensitive). Each match carries the card's name.
// An erased customer is never found.
absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const JourneyStore& store,
                                                      const v1::FindCustomerRequest& request,
                                                      Personal& personal);

}  // namespace threadline::journey
