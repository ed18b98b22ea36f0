#include "indexes.h"

#include <cstdio>
#include <cstdlib>

#include "threadline/common/status.h"
#include "threadline/support/service.h"

namespace threadline::support::index {
namespace {

// More missed calls than this under one unknown number is a dialler, not a
// customer; the rest wait for the next registration with that number.
constexpr size_t kMaxPendingPerNumber = 1000;

}  // namespace

std::string DueValue(TimePoint due, const std::string& id) {
  int64_t micros = ToUnixMicros(due);
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(micros < 0 ? 0 : micros));
  return std::string(digits) + "/" + id;
}

std::optional<DueEntry> ParseDueValue(const std::string& value) {
  constexpr size_t kDigits = 20;
  if (value.size() <= kDigits + 1 || value[kDigits] != '/') return std::nullopt;
  int64_t micros = 0;
  for (size_t i = 0; i < kDigits; ++i) {
    if (value[i] < '0' || value[i] > '9') return std::nullopt;
    micros = micros * 10 + (value[i] - '0');
  }
  return DueEntry{FromUnixMicros(micros), value.substr(kDigits + 1)};
}

eventstore::UniqueClaim DueClaim(const char* index, TimePoint due, const std::string& id) {
  return {index, DueValue(due, id), id};
}

absl::StatusOr<std::vector<std::string>> PhoneOwners(eventstore::EventStore& store,
                                                     const std::string& e164, size_t max) {
  ASSIGN_OR_RETURN(auto claims, store.ScanClaims(kDirPhone, e164 + "/", max));
  std::vector<std::string> owners;
  for (auto& [value, owner] : claims) owners.push_back(std::move(owner));
  return owners;
}

absl::StatusOr<std::optional<std::string>> LookupPhone(eventstore::EventStore& store,
                                                       const std::string& e164) {
  ASSIGN_OR_RETURN(auto owners, PhoneOwners(store, e164, 2));
  if (owners.size() != 1) return std::optional<std::string>();
  return std::optional<std::string>(std::move(owners[0]));
}

absl::StatusOr<std::vector<std::string>> PendingCalls(eventstore::EventStore& store,
                                                      const std::string& e164) {
  ASSIGN_OR_RETURN(auto claims,
                   store.ScanClaims(kPendingMissedCall, e164 + "/", kMaxPendingPerNumber));
  std::vector<std::string> ids;
  for (auto& [value, owner] : claims) ids.push_back(std::move(owner));
  return ids;
}

std::mutex& PhoneLinkMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

absl::Status Release(eventstore::EventStore& store, std::vector<eventstore::UniqueClaim> claims) {
  if (claims.empty()) return absl::OkStatus();
  eventstore::StateWrite write;
  write.releases = std::move(claims);
  return store.Write(std::move(write)).status();
}

}  // namespace threadline::support::index

namespace threadline::support {

std::set<std::string> PersonalIndexes() {
  return {index::kPendingMissedCall, index::kDirPhone, index::kDirEmail};
}

}  // namespace threadline::support
