#pragma once

// The journey's personal data (docs/privacy.md). With a key source, every
// personal field (`[(threadline.v1.personal) = true]`) the journey keeps is
// sealed under its customer's data key:
//
//   envelopes   as received from the topics (the departments sealed them)
//   cards       SealMessage(card, key, "card:" + customer)
//   entries     SealMessage(entry, key, "entry:" + event_id), in the timeline,
//               the feed and on the journey topic
//
// and opened only to answer a query. A customer without a key has nothing
// sealed (events from builds before sealing): their views are kept as they
// are. An erased customer's views keep no personal data at all: it is
// emptied before it is stored, and whatever a store still holds sealed under
// the destroyed key reads as empty.
//
// Without a key source (null) nothing is sealed or opened: every call passes
// the message through unchanged.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "threadline/privacy/keys.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// The associated data the views are sealed with.
std::string CardContext(std::string_view customer);
std::string EntryContext(std::string_view event_id);

// Key lookups for one unit of work (a batch, a query): each customer's key
// is looked up once, so one batch sees one answer. Not thread-safe; short
// lived. Borrows `keys`, which may be null.
class Personal final : public privacy::KeySource {
 public:
  explicit Personal(privacy::KeySource* keys) : keys_(keys) {}
  ~Personal() override;
  Personal(const Personal&) = delete;
  Personal& operator=(const Personal&) = delete;

  // False without a key source.
  bool sealing() const { return keys_ != nullptr; }

  // KeySource, cached; Obtain is never used by the journey and refused.
  absl::StatusOr<privacy::Key> Obtain(std::string_view subject) override;
  absl::StatusOr<privacy::KeyLookup> Find(std::string_view subject) override;
  absl::StatusOr<privacy::KeyLookup> FindFresh(std::string_view subject) override;
  absl::StatusOr<privacy::Key> IndexKey() override;

  // From now on `customer` reads as erased here, whatever the source says
  // (a CustomerErased event was read; a cache elsewhere may lag).
  void MarkErased(const std::string& customer);
  // Whether `customer` is erased. False without a key source.
  absl::StatusOr<bool> Erased(const std::string& customer);

  // `e` with its personal fields opened (privacy::OpenOne): empty for an
  // erased customer; DATA_LOSS when a sealed field does not open (altered,
  // or moved from another event) or the key is missing.
  absl::StatusOr<v1::EventEnvelope> OpenEvent(const v1::EventEnvelope& e);

  // The stored form of a card: sealed under the customer's key; emptied and
  // marked erased for an erased customer; unchanged without a key.
  absl::StatusOr<std::string> StoredCard(const std::string& customer,
                                         const v1::CustomerContext& card);
  // The readable form of a stored card: opened; for an erased customer
  // emptied and marked erased.
  absl::Status OpenCard(const std::string& customer, v1::CustomerContext& card);

  // Seals `entry` under its customer's key (nothing to do without one, or
  // for an erased customer, whose entries are made from emptied events).
  absl::Status SealEntry(v1::TimelineEntry& entry);
  // Opens `entry`; what is still sealed under an erased customer's key
  // reads as empty.
  absl::Status OpenEntry(v1::TimelineEntry& entry);

 private:
  // An erased customer's card: no personal data, marked erased.
  static void Forget(const std::string& customer, v1::CustomerContext& card);
  // DATA_LOSS for a sealed `what` of a customer who has no key and was
  // never erased.
  static absl::Status Lost(const std::string& customer, std::string_view what);

  privacy::KeySource* keys_;
  std::map<std::string, privacy::KeyLookup, std::less<>> found_;
  std::optional<privacy::Key> index_key_;
};

}  // namespace threadline::journey
