#include "personal.h"

#include "threadline/common/status.h"
#include "threadline/privacy/sealer.h"
#include "threadline/privacy/sealing_store.h"

namespace threadline::journey {

std::string CardContext(std::string_view customer) { return "card:" + std::string(customer); }
std::string EntryContext(std::string_view event_id) { return "entry:" + std::string(event_id); }

Personal::~Personal() {
  // No copy of a key outlives the unit of work.
  for (auto& [subject, found] : found_) {
    if (found.key) *found.key = privacy::Key{};
  }
  if (index_key_) *index_key_ = privacy::Key{};
}

absl::StatusOr<privacy::Key> Personal::Obtain(std::string_view subject) {
  return absl::FailedPreconditionError("the journey never creates a data key (asked for " +
                                       std::string(subject) + ")");
}

absl::StatusOr<privacy::KeyLookup> Personal::Find(std::string_view subject) {
  if (keys_ == nullptr) return privacy::KeyLookup{};
  if (auto it = found_.find(subject); it != found_.end()) return it->second;
  ASSIGN_OR_RETURN(privacy::KeyLookup found, keys_->Find(subject));
  found_.emplace(std::string(subject), found);
  return found;
}

absl::StatusOr<privacy::KeyLookup> Personal::FindFresh(std::string_view subject) {
  if (keys_ == nullptr) return privacy::KeyLookup{};
  if (auto it = found_.find(subject); it != found_.end() && (it->second.key || it->second.erased)) {
    return it->second;
  }
  ASSIGN_OR_RETURN(privacy::KeyLookup found, keys_->FindFresh(subject));
  found_.insert_or_assign(std::string(subject), found);
  return found;
}

absl::StatusOr<privacy::Key> Personal::IndexKey() {
  if (keys_ == nullptr) return absl::FailedPreconditionError("no key source: nothing is blinded");
  if (!index_key_) {
    ASSIGN_OR_RETURN(index_key_, keys_->IndexKey());
  }
  return *index_key_;
}

void Personal::MarkErased(const std::string& customer) {
  auto& found = found_[customer];
  if (found.key) *found.key = privacy::Key{};
  found = privacy::KeyLookup{std::nullopt, true};
}

absl::StatusOr<bool> Personal::Erased(const std::string& customer) {
  if (keys_ == nullptr) return false;
  ASSIGN_OR_RETURN(privacy::KeyLookup found, Find(customer));
  return found.erased;
}

absl::StatusOr<v1::EventEnvelope> Personal::OpenEvent(const v1::EventEnvelope& e) {
  v1::EventEnvelope copy = e;
  if (keys_ != nullptr) RETURN_IF_ERROR(privacy::OpenOne(*this, copy));
  return copy;
}

absl::Status Personal::Lost(const std::string& customer, std::string_view what) {
  return absl::DataLossError(std::string(what) + " of " + customer +
                             " is sealed, but the customer has no data key and was never "
                             "erased: the key vault lost it");
}

void Personal::Forget(const std::string& customer, v1::CustomerContext& card) {
  // Without a key nothing fails to open: every personal field is emptied.
  privacy::OpenMessage(card, nullptr, CardContext(customer)).IgnoreError();
  // Emptied contact points are no contact points.
  card.clear_phone_numbers();
  card.clear_emails();
  card.set_erased(true);
}

absl::StatusOr<std::string> Personal::StoredCard(const std::string& customer,
                                                 const v1::CustomerContext& card) {
  if (keys_ == nullptr) return card.SerializeAsString();
  ASSIGN_OR_RETURN(privacy::KeyLookup found, Find(customer));
  v1::CustomerContext stored = card;
  if (found.erased) {
    Forget(customer, stored);
  } else if (found.key) {
    privacy::SealMessage(stored, *found.key, CardContext(customer));
  }
  return stored.SerializeAsString();
}

absl::Status Personal::OpenCard(const std::string& customer, v1::CustomerContext& card) {
  if (keys_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(privacy::KeyLookup found, Find(customer));
  // A card stored erased stays erased, whatever a lagging cache says.
  if (found.erased || card.erased()) {
    Forget(customer, card);
    return absl::OkStatus();
  }
  if (!found.key && privacy::HasSealed(card)) {
    ASSIGN_OR_RETURN(found, FindFresh(customer));
    if (found.erased) {
      Forget(customer, card);
      return absl::OkStatus();
    }
  }
  if (!found.key) {
    return privacy::HasSealed(card) ? Lost(customer, "the context card") : absl::OkStatus();
  }
  return privacy::OpenMessage(card, &*found.key, CardContext(customer));
}

absl::Status Personal::SealEntry(v1::TimelineEntry& entry) {
  if (keys_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(privacy::KeyLookup found, Find(entry.customer_id()));
  if (found.key) privacy::SealMessage(entry, *found.key, EntryContext(entry.event_id()));
  return absl::OkStatus();
}

absl::Status Personal::OpenEntry(v1::TimelineEntry& entry) {
  if (keys_ == nullptr || !privacy::HasSealed(entry)) return absl::OkStatus();
  ASSIGN_OR_RETURN(privacy::KeyLookup found, Find(entry.customer_id()));
  if (!found.key && !found.erased) {
    ASSIGN_OR_RETURN(found, FindFresh(entry.customer_id()));
  }
  if (found.erased) return privacy::OpenMessage(entry, nullptr, EntryContext(entry.event_id()));
  if (!found.key) return Lost(entry.customer_id(), "timeline entry " + entry.event_id());
  return privacy::OpenMessage(entry, &*found.key, EntryContext(entry.event_id()));
}

}  // namespace threadline::journey
