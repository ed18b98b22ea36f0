#include "store_writer.h"

#include "search.h"
#include "threadline/common/coding.h"
#include "threadline/common/status.h"
#include "threadline/journey/projection.h"
#include "threadline/privacy/sealer.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {

using coding::Fixed64Key;
using keys::Family;

absl::StatusOr<bool> StoreWriter::Seen(const std::string& event_id) {
  if (seen_.count(event_id)) return true;
  std::string v;
  return store_.Get(Family::kSeen, keys::SeenKey(event_id), &v, "checking an event id");
}

absl::StatusOr<v1::CustomerContext*> StoreWriter::Card(const std::string& customer) {
  auto it = cards_.find(customer);
  if (it != cards_.end()) return &it->second;
  v1::CustomerContext card;
  std::string v;
  ASSIGN_OR_RETURN(bool found, store_.Get(Family::kCards, keys::CardKey(customer), &v,
                                          "reading a context card"));
  if (found && !card.ParseFromString(v)) {
    return absl::DataLossError("context card does not decode");
  }
  if (found) RETURN_IF_ERROR(personal_.OpenCard(customer, card));
  return &cards_.emplace(customer, std::move(card)).first->second;
}

absl::StatusOr<std::string> StoreWriter::LastOrder(const std::string& customer) {
  auto it = last_order_.find(customer);
  if (it != last_order_.end()) return it->second;
  std::string prefix = keys::CustomerPrefix(customer);
  auto iter = store_.NewIterator(Family::kEnvelopes);
  iter->SeekForPrev(prefix + std::string(64, '\xff'));
  RETURN_IF_ERROR(rocks::FromRocks(iter->status(), "reading a timeline"));
  std::string last;
  if (iter->Valid() && iter->key().starts_with(prefix)) {
    last = iter->key().ToString().substr(prefix.size());
  }
  last_order_[customer] = last;
  return last;
}

// The card is a fold over the customer's events in timeline order; an
// event that sorts before the last one applied makes us fold again.
absl::Status StoreWriter::Refold(const std::string& customer, v1::CustomerContext& card) {
  std::map<std::string, std::string> all = envelopes_[customer];
  std::string prefix = keys::CustomerPrefix(customer);
  auto it = store_.NewIterator(Family::kEnvelopes);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    all.emplace(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  RETURN_IF_ERROR(rocks::FromRocks(it->status(), "refolding a card"));
  std::vector<v1::EventEnvelope> events(all.size());
  size_t i = 0;
  for (const auto& [order, bytes] : all) {
    v1::EventEnvelope& e = events[i++];
    if (!e.ParseFromString(bytes)) return absl::DataLossError("stored event does not decode");
    if (personal_.sealing()) {
      ASSIGN_OR_RETURN(e, personal_.OpenEvent(e));
    }
  }
  card.Clear();
  FoldCard(events, card);
  ++refolds_;
  return absl::OkStatus();
}

absl::StatusOr<StoreWriter::Added> StoreWriter::Add(const v1::EventEnvelope& e,
                                                    std::string* unreadable) {
  ASSIGN_OR_RETURN(bool seen, Seen(e.event_id()));
  if (seen) return Added::kDuplicate;
  if (e.customer_id().empty()) {
    seen_.insert(e.event_id());
    store_.Put(batch_, Family::kSeen, keys::SeenKey(e.event_id()), "");
    return Added::kSeenOnly;
  }

  const std::string& customer = e.customer_id();
  ASSIGN_OR_RETURN(v1::CustomerContext * card, Card(customer));
  // What the journey folds and shows: the event opened. Without sealing,
  // the event itself.
  const v1::EventEnvelope* view = &e;
  v1::EventEnvelope opened;
  bool erased = false;
  if (personal_.sealing()) {
    // A card stored erased stays erased, even if a key source still has the
    // key in a cache that has not heard of the erasure yet.
    if (e.has_customer_erased() || card->erased()) personal_.MarkErased(customer);
    auto o = personal_.OpenEvent(e);
    if (!o.ok()) {
      if (!absl::IsDataLoss(o.status())) return o.status();
      // Not recorded as seen: the event as its department wrote it may
      // still come.
      *unreadable = std::string(o.status().message());
      return Added::kUnreadable;
    }
    opened = *std::move(o);
    view = &opened;
    ASSIGN_OR_RETURN(erased, personal_.Erased(customer));
  }
  seen_.insert(e.event_id());
  store_.Put(batch_, Family::kSeen, keys::SeenKey(e.event_id()), "");

  std::string order = keys::Order(e);
  // Envelopes are kept as received (sealed by their department), except an
  // erased customer's: kept without personal data at all.
  std::string bytes = erased ? opened.SerializeAsString() : e.SerializeAsString();
  ASSIGN_OR_RETURN(std::string last, LastOrder(customer));
  changed_.insert(customer);
  envelopes_[customer][order] = bytes;
  if (refold_.count(customer)) {
    // Folded at the end of the batch, this event included.
  } else if (order > last && !OpensCallback(*view)) {
    // A callback that opens is folded with the whole history, which may
    // hold its completion sorted before it (see FoldCard).
    ApplyToCard(*view, *card);
    last_order_[customer] = order;
  } else {
    refold_.insert(customer);
  }
  v1::TimelineEntry entry = ToEntry(*view);
  uint64_t seq = sequence_ + updates_.size() + 1;
  entry.set_sequence(seq);
  RETURN_IF_ERROR(personal_.SealEntry(entry));
  std::string key = keys::CustomerPrefix(customer) + order;
  store_.Put(batch_, Family::kEnvelopes, key, bytes);
  store_.Put(batch_, Family::kTimeline, key, entry.SerializeAsString());
  v1::JourneyUpdate update;
  update.set_resume_token(std::to_string(seq));
  *update.mutable_entry() = std::move(entry);
  store_.Put(batch_, Family::kFeed, keys::FeedKey(seq), update.SerializeAsString());
  staged_updates_[key] = updates_.size();
  updates_.push_back(std::move(update));
  if (view->has_customer_registered() && !erased) {
    ASSIGN_OR_RETURN(
        std::vector<std::string> entries,
        IndexCustomer(store_, batch_, customer, view->customer_registered(), personal_));
    auto& staged = staged_search_[customer];
    staged.insert(staged.end(), entries.begin(), entries.end());
  }
  if (e.has_customer_erased() && personal_.sealing()) erase_.insert(customer);
  return Added::kProjected;
}

absl::Status StoreWriter::Erase(const std::string& customer) {
  const std::string prefix = keys::CustomerPrefix(customer);
  std::map<std::string, std::string>& staged = envelopes_[customer];
  std::map<std::string, std::string> all = staged;
  auto it = store_.NewIterator(Family::kEnvelopes);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    all.emplace(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  RETURN_IF_ERROR(rocks::FromRocks(it->status(), "reading an erased customer's events"));
  // Registrations stored in the clear (by builds before sealing) name the
  // search entries such builds wrote in the clear.
  std::vector<v1::CustomerRegistered> clear;
  for (const auto& [order, bytes] : all) {
    v1::EventEnvelope e;
    if (!e.ParseFromString(bytes)) return absl::DataLossError("stored event does not decode");
    if (e.has_customer_registered() && privacy::HasPersonal(e.customer_registered()) &&
        !privacy::HasSealed(e.customer_registered())) {
      clear.push_back(e.customer_registered());
    }
    // The customer is marked erased: this empties every personal field.
    ASSIGN_OR_RETURN(v1::EventEnvelope emptied, personal_.OpenEvent(e));
    const std::string key = prefix + order;
    staged[order] = emptied.SerializeAsString();
    store_.Put(batch_, Family::kEnvelopes, key, staged[order]);

    v1::TimelineEntry entry = ToEntry(emptied);
    v1::JourneyUpdate* in_batch = nullptr;
    if (auto u = staged_updates_.find(key); u != staged_updates_.end()) {
      in_batch = &updates_[u->second];
      entry.set_sequence(in_batch->entry().sequence());
    } else {
      std::string v;
      v1::TimelineEntry stored;
      ASSIGN_OR_RETURN(bool found, store_.Get(Family::kTimeline, key, &v, "reading a timeline"));
      if (!found || !stored.ParseFromString(v)) {
        return absl::DataLossError("timeline entry of stored event " + e.event_id() +
                                   " is missing or does not decode");
      }
      entry.set_sequence(stored.sequence());
    }
    store_.Put(batch_, Family::kTimeline, key, entry.SerializeAsString());
    // The feed keeps the entry under its sequence number, for subscribers
    // that resume from an old token.
    v1::JourneyUpdate update;
    update.set_resume_token(std::to_string(entry.sequence()));
    *update.mutable_entry() = std::move(entry);
    std::string feed_key = keys::FeedKey(update.entry().sequence());
    std::string v;
    ASSIGN_OR_RETURN(bool in_feed,
                     store_.Get(Family::kFeed, feed_key, &v, "reading the journey feed"));
    if (in_feed || in_batch != nullptr) {
      store_.Put(batch_, Family::kFeed, feed_key, update.SerializeAsString());
    }
    if (in_batch != nullptr) *in_batch = std::move(update);
  }
  RETURN_IF_ERROR(UnindexCustomer(store_, batch_, customer, staged_search_[customer], clear));
  changed_.insert(customer);
  refold_.insert(customer);
  return absl::OkStatus();
}

absl::Status StoreWriter::Commit(const bus::Offsets& next) {
  for (const auto& customer : erase_) RETURN_IF_ERROR(Erase(customer));
  for (const auto& customer : refold_) RETURN_IF_ERROR(Refold(customer, cards_[customer]));
  for (const auto& customer : changed_) {
    ASSIGN_OR_RETURN(std::string card, personal_.StoredCard(customer, cards_[customer]));
    store_.Put(batch_, Family::kCards, keys::CardKey(customer), card);
  }
  for (const auto& [tp, offset] : next) {
    store_.Put(batch_, Family::kMeta, keys::OffsetKey(tp),
               Fixed64Key(static_cast<uint64_t>(offset)));
  }
  store_.Put(batch_, Family::kMeta, keys::kSequenceKey, Fixed64Key(sequence()));
  return store_.Write(batch_, "committing a batch");
}

}  // namespace threadline::journey
