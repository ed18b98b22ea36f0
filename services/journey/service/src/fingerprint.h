#pragma once

// A digest of a journey store's content, to prove a rebuild equal to the
// live projection (`threadline journey fingerprint`).

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "personal.h"
#include "store.h"

namespace threadline::journey {

// "<timeline entries>:<hex digest>" over every customer's cards, envelopes,
// search entries and timeline (entries without their sequence numbers,
// which depend on arrival order), in key order; with `customers`, only
// theirs. The digest hashes layout-1 key names (keyspace.h), so a store
// gives the same fingerprint before and after its conversion. Cards and
// entries are hashed opened (personal.h): sealing the same value twice
// gives different bytes.
absl::StatusOr<std::string> Fingerprint(const JourneyStore& store,
                                        const std::set<std::string>& customers,
                                        privacy::KeySource* key_source);

}  // namespace threadline::journey
