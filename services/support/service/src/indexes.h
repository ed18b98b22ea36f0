#pragma once

// Support's secondary indexes, kept as event-store claims (see
// eventstore::AppendRequest): written in the same append as the events that
// make them true, scanned by prefix. Private to the support service.
//
//   open_ticket          "<due>/<ticket_id>"    -> ticket_id    (SLA deadline not yet reported)
//   open_callback        "<due>/<callback_id>"  -> callback_id  (same, for callbacks)
//   pending_missed_call  "<e164>/<callback_id>" -> callback_id  (caller not known yet)
//   dir_phone            "<e164>/<customer_id>" -> customer_id  (support's directory)
//   dir_email            "<email>/<customer_id>" -> customer_id
//
// <due> is the due time in Unix microseconds, zero-padded to 20 digits, so a
// scan from the start of the index returns deadlines earliest first.
//
// The directory holds one claim per (number, customer) rather than one per
// number: claims are unique, and a shared landline registered to two
// customers must stay visible as "two owners" (attributed to nobody), not be
// refused or silently overwritten.

#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::support::index {

inline constexpr char kOpenTicket[] = "open_ticket";
inline constexpr char kOpenCallback[] = "open_callback";
inline constexpr char kPendingMissedCall[] = "pending_missed_call";
inline constexpr char kDirPhone[] = "dir_phone";
inline constexpr char kDirEmail[] = "dir_email";

// "<20-digit micros>/<id>".
std::string DueValue(TimePoint due, const std::string& id);

struct DueEntry {
  TimePoint due;
  std::string id;
};
// Parses DueValue's output; nullopt for anything else.
std::optional<DueEntry> ParseDueValue(const std::string& value);

// A deadline claim in `index` (kOpenTicket or kOpenCallback), owned by `id`.
eventstore::UniqueClaim DueClaim(const char* index, TimePoint due, const std::string& id);

// The customer that alone owns `e164` in the directory; nullopt when nobody
// or more than one customer registered it.
absl::StatusOr<std::optional<std::string>> LookupPhone(eventstore::EventStore& store,
                                                       const std::string& e164);

// Every customer registered with `e164` (at most `max`).
absl::StatusOr<std::vector<std::string>> PhoneOwners(eventstore::EventStore& store,
                                                     const std::string& e164, size_t max = 16);

// Missed calls waiting under `e164`: their callback ids, oldest first.
absl::StatusOr<std::vector<std::string>> PendingCalls(eventstore::EventStore& store,
                                                      const std::string& e164);

// Held from the read to the append by the two writers that each read one
// index and claim in the other: a missed call (looks the caller up in the
// directory, then parks the call under the number when nobody owns it) and
// a directory update (reads the calls parked under a number, then claims
// the number). Interleaved, a call recorded while its caller's registration
// is applied is neither given the customer nor seen by the directory, and
// waits unlinked forever.
std::mutex& PhoneLinkMutex();

// Drops `claims` (each only while held by its owner) in a write of their
// own: the SLA timer's clean-up of deadline entries it finds stale.
absl::Status Release(eventstore::EventStore& store, std::vector<eventstore::UniqueClaim> claims);

}  // namespace threadline::support::index
