#include "threadline/privacy/keys.h"

#include "threadline/common/status.h"

namespace threadline::privacy {
namespace {
constexpr std::string_view kErased = "customer erased";
}  // namespace

absl::Status ErasedError(std::string_view subject) {
  return absl::FailedPreconditionError(std::string(kErased) + ": " + std::string(subject) +
                                       " was erased on request; nothing more is recorded "
                                       "about them");
}

bool IsErased(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition &&
         std::string_view(s.message().data(), s.message().size()).starts_with(kErased);
}

absl::StatusOr<Key> KeyCache::Obtain(std::string_view subject) {
  {
    std::lock_guard lock(mu_);
    if (erased_.contains(std::string(subject))) return ErasedError(subject);
    if (auto it = keys_.find(std::string(subject)); it != keys_.end()) return it->second.first;
  }
  auto key = inner_->Obtain(subject);
  if (!key.ok()) {
    if (IsErased(key.status())) Forget(subject);
    return key;
  }
  Put(std::string(subject), *key);
  return key;
}

absl::StatusOr<KeyLookup> KeyCache::Find(std::string_view subject) {
  {
    std::lock_guard lock(mu_);
    const std::string s(subject);
    if (erased_.contains(s)) return KeyLookup{std::nullopt, true};
    if (auto it = keys_.find(s); it != keys_.end()) return KeyLookup{it->second.first, false};
    if (keyless_.contains(s)) return KeyLookup{};
  }
  return Remember(subject, inner_->Find(subject));
}

absl::StatusOr<KeyLookup> KeyCache::FindFresh(std::string_view subject) {
  {
    std::lock_guard lock(mu_);
    if (erased_.contains(std::string(subject))) return KeyLookup{std::nullopt, true};
  }
  return Remember(subject, inner_->FindFresh(subject));
}

absl::StatusOr<KeyLookup> KeyCache::Remember(std::string_view subject,
                                             absl::StatusOr<KeyLookup> found) {
  if (!found.ok()) return found;
  if (found->key) Put(std::string(subject), *found->key);
  if (found->erased) Forget(subject);
  if (!found->key && !found->erased) {
    std::lock_guard lock(mu_);
    if (keyless_.size() >= capacity_) keyless_.clear();  // cheap bound; they are asked again
    keyless_.insert(std::string(subject));
  }
  return found;
}

absl::StatusOr<Key> KeyCache::IndexKey() {
  {
    std::lock_guard lock(mu_);
    if (index_key_) return *index_key_;
  }
  ASSIGN_OR_RETURN(Key k, inner_->IndexKey());
  std::lock_guard lock(mu_);
  index_key_ = k;
  return k;
}

void KeyCache::Forget(std::string_view subject) {
  std::lock_guard lock(mu_);
  if (auto it = keys_.find(std::string(subject)); it != keys_.end()) {
    it->second.first = Key{};  // no copy of the key outlives the erasure
    order_.erase(it->second.second);
    keys_.erase(it);
  }
  // Erasures are remembered in full: a subject id is small and an erasure
  // must never be forgotten while the process runs.
  erased_.insert(std::string(subject));
  keyless_.erase(std::string(subject));
}

size_t KeyCache::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

void KeyCache::Put(const std::string& subject, const Key& key) {
  std::lock_guard lock(mu_);
  keyless_.erase(subject);
  if (erased_.contains(std::string(subject)) || keys_.contains(subject)) return;
  while (keys_.size() >= capacity_ && !order_.empty()) {
    keys_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(subject);
  keys_.emplace(subject, std::make_pair(key, std::prev(order_.end())));
}

}  // namespace threadline::privacy
