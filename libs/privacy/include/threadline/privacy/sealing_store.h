#pragma once

// An event store that keeps personal data sealed at rest. In front of a
// department's store:
//
//   Append      seals every event's personal fields under its subject's key
//               (created on first use); an erased subject's append is
//               FAILED_PRECONDITION "customer erased", and nothing is stored.
//   ReadStream  opens them again; an erased subject's personal fields read
//               as empty.
//   ReadAll     returns events as stored, sealed: it feeds the outbox, so
//               topics carry ciphertext only.
//   claims      in the personal indexes named at construction, a claim's
//               value is "<personal part>[/<rest>]" and the personal part is
//               stored blinded (crypto.h Blind), so a phone number or an
//               e-mail is found without being held. Values claimed in the
//               clear by a build before sealing are still found and
//               released.
//
// Everything else passes through.

#include <set>
#include <string>

#include "threadline/eventstore/forwarding_store.h"
#include "threadline/privacy/keys.h"

namespace threadline::privacy {

class SealingStore final : public eventstore::ForwardingStore {
 public:
  SealingStore(eventstore::EventStore* inner, KeySource* keys,
               std::set<std::string> personal_indexes = {});

  absl::StatusOr<eventstore::AppendResult> Append(eventstore::AppendRequest r) override;
  absl::StatusOr<eventstore::AppendResult> Write(eventstore::StateWrite w) override;
  absl::StatusOr<std::vector<v1::EventEnvelope>> ReadStream(const std::string& stream,
                                                            StreamVersion after,
                                                            size_t max) override;
  absl::StatusOr<std::optional<std::string>> FindClaim(const std::string& index,
                                                       const std::string& value) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanClaims(
      const std::string& index, const std::string& prefix, size_t max) override;

  KeySource* keys() const { return keys_; }

 private:
  bool Personal(const std::string& index) const { return personal_indexes_.contains(index); }
  // `value` with its personal part blinded.
  absl::StatusOr<std::string> BlindValue(const std::string& index, const std::string& value);
  absl::Status BlindClaims(std::vector<eventstore::UniqueClaim>& claims, bool keep_clear);

  KeySource* keys_;
  std::set<std::string> personal_indexes_;
};

// Opens every event's personal fields with keys from `keys`: the read side
// of sealing, for anything that consumes events from a topic. DATA_LOSS
// names the event whose sealed field does not open (altered, or moved from
// another event).
absl::Status OpenEvents(KeySource& keys, std::vector<v1::EventEnvelope>& events);
absl::Status OpenOne(KeySource& keys, v1::EventEnvelope& e);

}  // namespace threadline::privacy
