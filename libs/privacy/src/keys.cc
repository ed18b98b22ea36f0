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
    if (erased_.contains(std::string(subject))) return KeyLookup{std::nullopt, true};
    if (auto it = keys_.find(std::string(subject)); it != keys_.end())
      return KeyLookup{it->second.first, false};
  }
  ASSIGN_OR_RETURN(KeyLookup found, inner_->Find(subject));
  if (found.key) Put(std::string(subject), *found.key);
  if (found.erased) Forget(subject);
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
}

size_t KeyCache::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

void KeyCache::Put(const std::string& subject, const Key& key) {
  std::lock_guard lock(mu_);
  if (erased_.contains(std::string(subject)) || keys_.contains(subject)) return;
  while (keys_.size() >= capacity_ && !order_.empty()) {
    keys_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(subject);
  keys_.emplace(subject, std::make_pair(key, std::prev(order_.end())));
}

}  // namespace threadline::privacy
