#include "store_writer.h"

#include "search.h"
#include "threadline/common/coding.h"
#include "threadline/common/status.h"
#include "threadline/journey/projection.h"
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
    if (!events[i++].ParseFromString(bytes)) {
      return absl::DataLossError("stored event does not decode");
    }
  }
  card.Clear();
  FoldCard(events, card);
  ++refolds_;
  return absl::OkStatus();
}

absl::StatusOr<StoreWriter::Added> StoreWriter::Add(const v1::EventEnvelope& e) {
  ASSIGN_OR_RETURN(bool seen, Seen(e.event_id()));
  if (seen) return Added::kDuplicate;
  seen_.insert(e.event_id());
  store_.Put(batch_, Family::kSeen, keys::SeenKey(e.event_id()), "");
  if (e.customer_id().empty()) return Added::kSeenOnly;

  const std::string& customer = e.customer_id();
  std::string order = keys::Order(e);
  std::string bytes = e.SerializeAsString();
  ASSIGN_OR_RETURN(std::string last, LastOrder(customer));
  ASSIGN_OR_RETURN(v1::CustomerContext * card, Card(customer));
  envelopes_[customer][order] = bytes;
  if (refold_.count(customer)) {
    // Folded at the end of the batch, this event included.
  } else if (order > last && !OpensCallback(e)) {
    // A callback that opens is folded with the whole history, which may
    // hold its completion sorted before it (see FoldCard).
    ApplyToCard(e, *card);
    last_order_[customer] = order;
  } else {
    refold_.insert(customer);
  }
  v1::TimelineEntry entry = ToEntry(e);
  uint64_t seq = sequence_ + updates_.size() + 1;
  entry.set_sequence(seq);
  std::string key = keys::CustomerPrefix(customer) + order;
  store_.Put(batch_, Family::kEnvelopes, key, bytes);
  store_.Put(batch_, Family::kTimeline, key, entry.SerializeAsString());
  v1::JourneyUpdate update;
  update.set_resume_token(std::to_string(seq));
  *update.mutable_entry() = std::move(entry);
  store_.Put(batch_, Family::kFeed, keys::FeedKey(seq), update.SerializeAsString());
  updates_.push_back(std::move(update));
  if (e.has_customer_registered()) IndexCustomer(store_, batch_, customer, e.customer_registered());
  return Added::kProjected;
}

absl::Status StoreWriter::Commit(const bus::Offsets& next) {
  for (const auto& customer : refold_) RETURN_IF_ERROR(Refold(customer, cards_[customer]));
  for (const auto& [customer, card] : cards_) {
    store_.Put(batch_, Family::kCards, keys::CardKey(customer), card.SerializeAsString());
  }
  for (const auto& [tp, offset] : next) {
    store_.Put(batch_, Family::kMeta, keys::OffsetKey(tp),
               Fixed64Key(static_cast<uint64_t>(offset)));
  }
  store_.Put(batch_, Family::kMeta, keys::kSequenceKey, Fixed64Key(sequence()));
  return store_.Write(batch_, "committing a batch");
}

}  // namespace threadline::journey
