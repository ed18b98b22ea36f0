#include "queries.h"

#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/validate.h"
#include "threadline/journey/projection.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using keys::Family;
using rocks::FromRocks;

absl::Status ValidateCustomerId(const std::string& id) {
  return domain::ValidateId("customer_id", id, "cus");
}

// Filters of GetTimeline: known, non-zero enum values, and bounds that are
// real times (either bound alone is fine; both must be in order).
absl::Status ValidateTimelineFilters(const v1::GetTimelineRequest& r) {
  RETURN_IF_ERROR(domain::ValidateCount("departments", r.departments_size()));
  for (int i = 0; i < r.departments_size(); ++i) {
    RETURN_IF_ERROR(
        domain::ValidateDepartment(domain::IndexedField("departments", i), r.departments(i)));
  }
  RETURN_IF_ERROR(domain::ValidateCount("channels", r.channels_size()));
  for (int i = 0; i < r.channels_size(); ++i) {
    RETURN_IF_ERROR(domain::ValidateChannel(domain::IndexedField("channels", i), r.channels(i)));
  }
  if (!r.has_time_range()) return absl::OkStatus();
  const auto& range = r.time_range();
  if (range.has_start()) {
    RETURN_IF_ERROR(domain::ValidateTimestamp("time_range.start", range.start()));
  }
  if (range.has_end()) {
    RETURN_IF_ERROR(domain::ValidateTimestamp("time_range.end", range.end()));
  }
  if (range.has_start() && range.has_end()) {
    RETURN_IF_ERROR(domain::ValidateWindow("time_range", range));
  }
  return absl::OkStatus();
}

// A page token is opaque and bound to the request it continues (AIP-158):
// "t1." and, base64url, a hash of the request without page_token and
// page_size, then the timeline order of the last entry returned. A token
// with other filters, or of another customer, is refused.
constexpr std::string_view kTokenPrefix = "t1.";

uint64_t RequestHash(v1::GetTimelineRequest r) {
  r.clear_page_token();
  r.clear_page_size();
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : domain::DeterministicBytes(r)) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string MakePageToken(const v1::GetTimelineRequest& r, const std::string& last_order) {
  std::string raw(8, '\0');
  const uint64_t h = RequestHash(r);
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<char>(h >> (56 - 8 * i));
  raw += last_order;
  return std::string(kTokenPrefix) + absl::WebSafeBase64Escape(raw);
}

// The order to continue after. Hex tokens from builds before opaque tokens
// still continue (they name no filters, so none are checked).
absl::StatusOr<std::string> ReadPageToken(const v1::GetTimelineRequest& r) {
  const std::string& token = r.page_token();
  if (!token.starts_with(kTokenPrefix)) {
    auto legacy = keys::Unhex(token);
    if (!legacy) return absl::InvalidArgumentError("page_token: not a token from this API");
    return *legacy;
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token.substr(kTokenPrefix.size()), &raw) || raw.size() < 8) {
    return absl::InvalidArgumentError("page_token: not a token from this API");
  }
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(raw[i]);
  if (h != RequestHash(r)) {
    return absl::InvalidArgumentError(
        "page_token: was given for another request; keep customer_id, departments, channels "
        "and time_range as they were, or start again without a page_token");
  }
  return raw.substr(8);
}

absl::StatusOr<bool> CustomerKnown(const JourneyStore& store, const std::string& customer) {
  std::string v;
  return store.Get(Family::kCards, keys::CardKey(customer), &v, "reading a context card");
}

}  // namespace

absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const JourneyStore& store,
                                                    const v1::GetTimelineRequest& r,
                                                    Personal& personal) {
  RETURN_IF_ERROR(ValidateCustomerId(r.customer_id()));
  int32_t page_size = r.page_size() == 0 ? 50 : r.page_size();
  if (page_size < 0 || page_size > 500) {
    return absl::InvalidArgumentError("page_size: must be between 1 and 500 (default 50)");
  }
  RETURN_IF_ERROR(ValidateTimelineFilters(r));
  ASSIGN_OR_RETURN(bool known, CustomerKnown(store, r.customer_id()));
  if (!known) return absl::NotFoundError("customer " + r.customer_id() + " has no journey");
  std::string prefix = keys::CustomerPrefix(r.customer_id());
  std::string start = prefix;
  if (!r.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string after, ReadPageToken(r));
    start = prefix + after;
    start.push_back('\0');  // strictly after the last entry returned
  } else if (r.has_time_range() && r.time_range().has_start()) {
    start += keys::OrderFrom(domain::FromProto(r.time_range().start()));
  }
  std::optional<TimePoint> end;
  if (r.has_time_range() && r.time_range().has_end()) {
    end = domain::FromProto(r.time_range().end());
  }
  std::set<int> departments(r.departments().begin(), r.departments().end());
  std::set<int> channels(r.channels().begin(), r.channels().end());
  v1::GetTimelineResponse out;
  auto it = store.NewIterator(Family::kTimeline);
  std::string last_order;
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::TimelineEntry entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("timeline entry does not decode");
    }
    if (end && domain::FromProto(entry.occurred_at()) >= *end) break;
    last_order = it->key().ToString().substr(prefix.size());
    if (!departments.empty() && !departments.count(entry.department())) continue;
    if (!channels.empty() && !channels.count(entry.channel())) continue;
    RETURN_IF_ERROR(personal.OpenEntry(entry));
    *out.add_entries() = std::move(entry);
    if (out.entries_size() == page_size) {
      it->Next();
      if (it->Valid() && it->key().starts_with(prefix)) {
        out.set_next_page_token(MakePageToken(r, last_order));
      }
      break;
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading a timeline"));
  return out;
}

namespace {

// The stored card, opened, with its derived parts: every list whole.
absl::StatusOr<v1::CustomerContext> WholeCard(const JourneyStore& store,
                                              const std::string& customer, TimePoint now,
                                              Personal& personal) {
  RETURN_IF_ERROR(ValidateCustomerId(customer));
  std::string v;
  ASSIGN_OR_RETURN(
      bool found, store.Get(Family::kCards, keys::CardKey(customer), &v, "reading a context card"));
  if (!found) return absl::NotFoundError("customer " + customer + " has no journey");
  v1::CustomerContext card;
  if (!card.ParseFromString(v)) return absl::DataLossError("context card does not decode");
  RETURN_IF_ERROR(personal.OpenCard(customer, card));
  RefreshDerived(card, now);
  return card;
}

}  // namespace

absl::StatusOr<v1::CustomerContext> GetCustomerContext(const JourneyStore& store,
                                                       const std::string& customer, TimePoint now,
                                                       Personal& personal) {
  ASSIGN_OR_RETURN(v1::CustomerContext card, WholeCard(store, customer, now, personal));
  BoundCard(card);
  return card;
}

absl::StatusOr<v1::CustomerDataExport> ExportCustomer(const JourneyStore& store,
                                                      const std::string& customer, TimePoint now,
                                                      Personal& personal) {
  v1::CustomerDataExport out;
  ASSIGN_OR_RETURN(*out.mutable_card(), WholeCard(store, customer, now, personal));
  out.set_customer_id(customer);
  std::string prefix = keys::CustomerPrefix(customer);
  auto it = store.NewIterator(Family::kEnvelopes);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::EventEnvelope e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("stored event does not decode");
    }
    ASSIGN_OR_RETURN(*out.add_events(), personal.OpenEvent(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading a customer's events"));
  return out;
}

}  // namespace threadline::journey
