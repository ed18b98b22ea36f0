#pragma once

// The policy a process runs with now. Read on every command (Get), swapped
// by a reload (Set, on SIGHUP). Readers keep the policy they got for the
// whole of one decision, so a decision never mixes two policies.
//
// Thread-safe: Get and Set may run concurrently.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "threadline/policy/policy.h"

namespace threadline::policy {

class Holder {
 public:
  explicit Holder(Policy initial) : current_(std::make_shared<const Policy>(std::move(initial))) {}
  // The shipped defaults.
  Holder() : Holder(Policy::Defaults()) {}

  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;

  std::shared_ptr<const Policy> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void Set(Policy next) {
    auto p = std::make_shared<const Policy>(std::move(next));
    std::lock_guard lock(mu_);
    current_ = std::move(p);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // Counts the Sets: 0 until the first reload.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace threadline::policy
