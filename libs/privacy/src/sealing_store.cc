#include "threadline/privacy/sealing_store.h"

#include "threadline/common/status.h"
#include "threadline/privacy/sealer.h"

namespace threadline::privacy {

SealingStore::SealingStore(eventstore::EventStore* inner, KeySource* keys,
                           std::set<std::string> personal_indexes)
    : ForwardingStore(inner), keys_(keys), personal_indexes_(std::move(personal_indexes)) {}

absl::StatusOr<std::string> SealingStore::BlindValue(const std::string& index,
                                                     const std::string& value) {
  ASSIGN_OR_RETURN(Key k, keys_->IndexKey());
  const size_t slash = value.find('/');
  if (slash == std::string::npos) return Blind(k, index, value);
  return Blind(k, index, value.substr(0, slash)) + value.substr(slash);
}

absl::Status SealingStore::BlindClaims(std::vector<eventstore::UniqueClaim>& claims,
                                       bool keep_clear) {
  const size_t n = claims.size();
  for (size_t i = 0; i < n; ++i) {
    if (!Personal(claims[i].index)) continue;
    // A release also drops the value as an earlier build held it.
    if (keep_clear) claims.push_back(claims[i]);
    ASSIGN_OR_RETURN(claims[i].value, BlindValue(claims[i].index, claims[i].value));
  }
  return absl::OkStatus();
}

absl::StatusOr<eventstore::AppendResult> SealingStore::Append(eventstore::AppendRequest r) {
  for (auto& e : r.events) {
    if (!HasPersonal(e)) {
      // Nothing to seal, but an erased customer still gets no new events.
      ASSIGN_OR_RETURN(KeyLookup found, keys_->Find(SubjectOf(e)));
      if (found.erased) return ErasedError(SubjectOf(e));
      continue;
    }
    ASSIGN_OR_RETURN(Key k, keys_->Obtain(SubjectOf(e)));
    SealEvent(e, k);
  }
  // A value held in the clear by an earlier build still counts as held.
  for (const auto& c : r.claims) {
    if (!Personal(c.index)) continue;
    ASSIGN_OR_RETURN(auto holder, inner()->FindClaim(c.index, c.value));
    if (holder && *holder != c.owner) {
      return absl::AlreadyExistsError(c.index + " is already held by " + *holder);
    }
  }
  RETURN_IF_ERROR(BlindClaims(r.claims, false));
  RETURN_IF_ERROR(BlindClaims(r.releases, true));
  return inner()->Append(std::move(r));
}

absl::StatusOr<eventstore::AppendResult> SealingStore::Write(eventstore::StateWrite w) {
  RETURN_IF_ERROR(BlindClaims(w.claims, false));
  RETURN_IF_ERROR(BlindClaims(w.releases, true));
  return inner()->Write(std::move(w));
}

absl::StatusOr<std::vector<v1::EventEnvelope>> SealingStore::ReadStream(const std::string& stream,
                                                                        StreamVersion after,
                                                                        size_t max) {
  ASSIGN_OR_RETURN(auto events, inner()->ReadStream(stream, after, max));
  RETURN_IF_ERROR(OpenEvents(*keys_, events));
  return events;
}

absl::StatusOr<std::optional<std::string>> SealingStore::FindClaim(const std::string& index,
                                                                   const std::string& value) {
  if (!Personal(index)) return inner()->FindClaim(index, value);
  ASSIGN_OR_RETURN(std::string blinded, BlindValue(index, value));
  ASSIGN_OR_RETURN(auto holder, inner()->FindClaim(index, blinded));
  if (holder) return holder;
  return inner()->FindClaim(index, value);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SealingStore::ScanClaims(
    const std::string& index, const std::string& prefix, size_t max) {
  if (!Personal(index)) return inner()->ScanClaims(index, prefix, max);
  if (prefix.find('/') == std::string::npos) {
    return absl::InvalidArgumentError("index " + index +
                                      " holds personal data: scan it by a whole value and '/'");
  }
  ASSIGN_OR_RETURN(std::string blinded, BlindValue(index, prefix));
  ASSIGN_OR_RETURN(auto found, inner()->ScanClaims(index, blinded, max));
  if (found.size() < max) {
    ASSIGN_OR_RETURN(auto clear, inner()->ScanClaims(index, prefix, max - found.size()));
    for (auto& c : clear) found.push_back(std::move(c));
  }
  return found;
}

absl::Status OpenOne(KeySource& keys, v1::EventEnvelope& e) {
  if (!HasPersonal(e)) return absl::OkStatus();
  ASSIGN_OR_RETURN(KeyLookup found, keys.Find(SubjectOf(e)));
  if (!found.key && !found.erased && HasSealed(e)) {
    // A cache may remember the subject from before its key was made.
    ASSIGN_OR_RETURN(found, keys.FindFresh(SubjectOf(e)));
  }
  if (!found.key && !found.erased) {
    if (HasSealed(e)) {
      return absl::DataLossError("event " + e.event_id() + " has sealed personal fields, but " +
                                 SubjectOf(e) +
                                 " has no data key and was never erased: the key vault lost it");
    }
    // Written before sealing, of a customer who never had a key: it reads
    // as it was written. (Once erased, it reads as erased below.)
    return absl::OkStatus();
  }
  return OpenEvent(e, found.key ? &*found.key : nullptr);
}

absl::Status OpenEvents(KeySource& keys, std::vector<v1::EventEnvelope>& events) {
  for (auto& e : events) RETURN_IF_ERROR(OpenOne(keys, e));
  return absl::OkStatus();
}

}  // namespace threadline::privacy
