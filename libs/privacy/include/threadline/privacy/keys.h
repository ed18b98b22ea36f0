#pragma once

// Where services get customers' data keys. The vault (vault.h) is the only
// place keys exist at rest, wrapped; every other holder keeps them in memory
// only, and drops a key when its customer is erased.

#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/statusor.h"
#include "threadline/privacy/crypto.h"

namespace threadline::privacy {

// What is known of a subject's key.
struct KeyLookup {
  std::optional<Key> key;  // set while the subject has one
  bool erased = false;     // the subject was erased: there is none, forever
};

class KeySource {
 public:
  virtual ~KeySource() = default;
  // The subject's data key, created on first use. FAILED_PRECONDITION
  // "customer erased" once the subject is erased; UNAVAILABLE when the
  // vault cannot be reached.
  [[nodiscard]] virtual absl::StatusOr<Key> Obtain(std::string_view subject) = 0;
  // The subject's key, without creating one: none and not erased means the
  // subject never had personal data sealed.
  [[nodiscard]] virtual absl::StatusOr<KeyLookup> Find(std::string_view subject) = 0;
  // Find() past any cache: for a sealed value whose subject a cache said
  // has no key (another process may have made it since).
  [[nodiscard]] virtual absl::StatusOr<KeyLookup> FindFresh(std::string_view subject) {
    return Find(subject);
  }
  // The deployment's key for blinded index entries (crypto.h Blind).
  [[nodiscard]] virtual absl::StatusOr<Key> IndexKey() = 0;
};

// The FAILED_PRECONDITION answer to anything that would record personal
// data of an erased subject.
absl::Status ErasedError(std::string_view subject);
// True for an ErasedError().
bool IsErased(const absl::Status& s);

// A bounded in-memory cache in front of another source (a vault in another
// process). Forget() drops a key at once and remembers the erasure, so a
// process that held a key reads the customer as erased from then on. It
// also remembers subjects that had no key (events written before sealing
// would otherwise ask the source once each); FindFresh() asks again.
class KeyCache final : public KeySource {
 public:
  explicit KeyCache(KeySource* inner, size_t capacity = 100'000)
      : inner_(inner), capacity_(capacity) {}
  absl::StatusOr<Key> Obtain(std::string_view subject) override;
  absl::StatusOr<KeyLookup> Find(std::string_view subject) override;
  absl::StatusOr<KeyLookup> FindFresh(std::string_view subject) override;
  absl::StatusOr<Key> IndexKey() override;
  void Forget(std::string_view subject);
  size_t size() const;

 private:
  void Put(const std::string& subject, const Key& key);
  // What the source said, remembered.
  absl::StatusOr<KeyLookup> Remember(std::string_view subject, absl::StatusOr<KeyLookup> found);

  KeySource* inner_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> order_;  // least recently added first
  std::unordered_map<std::string, std::pair<Key, std::list<std::string>::iterator>> keys_;
  std::unordered_set<std::string> erased_;
  std::unordered_set<std::string> keyless_;  // had no key when asked; at most capacity_
  std::optional<Key> index_key_;
};

}  // namespace threadline::privacy
