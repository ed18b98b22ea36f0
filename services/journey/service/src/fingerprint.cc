#include "fingerprint.h"

#include <optional>

#include "threadline/common/coding.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/rocks/rocks.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

using keys::Family;

absl::StatusOr<std::string> Fingerprint(const JourneyStore& store,
                                        const std::set<std::string>& customers,
                                        privacy::KeySource* key_source) {
  rocks::Digest digest;
  uint64_t entries = 0;
  std::string key;
  // In the order of their layout-1 prefixes: c/, e/, i/, t/.
  for (Family f : {Family::kCards, Family::kEnvelopes, Family::kSearch, Family::kTimeline}) {
    // Cards and entries scan by customer: one customer's lookups at a time.
    std::optional<Personal> personal;
    std::string last_customer;
    auto lookups = [&](const std::string& customer) -> Personal& {
      if (!personal || customer != last_customer) {
        personal.emplace(key_source);
        last_customer = customer;
      }
      return *personal;
    };
    auto it = store.NewIterator(f);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view k = it->key().ToStringView();
      std::string_view value = it->value().ToStringView();
      if (!customers.empty()) {
        std::string_view owner = f == Family::kCards    ? k
                                 : f == Family::kSearch ? keys::CustomerOfSearchEntry(k, value)
                                                        : keys::CustomerOfEventKey(k);
        if (!customers.count(std::string(owner))) continue;
      }
      key.assign(keys::LegacyPrefix(f));
      key.append(k);
      digest.Add(key);
      if (f == Family::kTimeline) {
        v1::TimelineEntry e;
        e.ParseFromArray(value.data(), static_cast<int>(value.size()));
        e.clear_sequence();
        RETURN_IF_ERROR(lookups(e.customer_id()).OpenEntry(e));
        // refs is a map: only deterministic serialisation gives the live
        // and the rebuilt projection the same bytes.
        digest.Add(domain::DeterministicBytes(e));
        ++entries;
      } else if (f == Family::kCards && key_source != nullptr) {
        v1::CustomerContext card;
        if (!card.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError("context card does not decode");
        }
        RETURN_IF_ERROR(lookups(card.customer_id()).OpenCard(card.customer_id(), card));
        digest.Add(domain::DeterministicBytes(card));
      } else {
        digest.Add(value);
      }
    }
    RETURN_IF_ERROR(rocks::FromRocks(it->status(), "fingerprinting"));
  }
  return std::to_string(entries) + ":" + keys::Hex(coding::Fixed64Key(digest.value()));
}

}  // namespace threadline::journey
