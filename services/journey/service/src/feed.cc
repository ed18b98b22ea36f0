#include "feed.h"

#include <set>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

// A dashboard follows one customer, a handful, or all (none listed).
constexpr size_t kMaxSubscribedCustomers = 1000;

}  // namespace

uint64_t Feed::sequence() const {
  std::lock_guard lock(mu_);
  return sequence_;
}

void Feed::Advance(uint64_t sequence) {
  std::lock_guard lock(mu_);
  sequence_ = sequence;
  cv_.notify_all();
}

void Feed::Open() {
  std::lock_guard lock(mu_);
  open_ = true;
}

void Feed::Close() {
  std::lock_guard lock(mu_);
  open_ = false;
  cv_.notify_all();
}

absl::Status Feed::Subscribe(const v1::SubscribeJourneyRequest& r,
                             const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                             const std::function<bool()>& cancelled, uint64_t max_lag,
                             const RevealFn& reveal) {
  subscribers_.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    std::atomic<uint64_t>& n;
    ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
  } leave{subscribers_};
  RETURN_IF_ERROR(
      domain::ValidateCount("customer_ids", r.customer_ids_size(), kMaxSubscribedCustomers));
  for (int i = 0; i < r.customer_ids_size(); ++i) {
    RETURN_IF_ERROR(
        domain::ValidateId(domain::IndexedField("customer_ids", i), r.customer_ids(i), "cus"));
  }
  std::set<std::string> customers(r.customer_ids().begin(), r.customer_ids().end());
  uint64_t after;
  if (r.resume_token().empty()) {
    after = sequence();
  } else {
    char* endp = nullptr;
    after = std::strtoull(r.resume_token().c_str(), &endp, 10);
    if (endp == nullptr || *endp != '\0') {
      return absl::InvalidArgumentError("resume_token: not a token from this API");
    }
    if (after > sequence()) {
      return absl::InvalidArgumentError("resume_token: from the future of this projection");
    }
  }
  while (!cancelled()) {
    uint64_t head;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200),
                   [&] { return sequence_ > after || !open_; });
      head = sequence_;
      if (!open_ && head <= after) {
        return absl::UnavailableError("the journey projector is shutting down; resume later");
      }
    }
    if (head - after > max_lag) {
      return absl::ResourceExhaustedError("subscriber fell " + std::to_string(head - after) +
                                          " updates behind; resume with the last token received");
    }
    auto it = store_.NewIterator(keys::Family::kFeed);
    for (it->Seek(keys::FeedKey(after + 1)); it->Valid(); it->Next()) {
      uint64_t seq = keys::FeedSequence(it->key().ToStringView());
      if (seq > head) break;
      after = seq;
      v1::JourneyUpdate u;
      if (!u.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("journey feed entry does not decode");
      }
      if (!customers.empty() && !customers.count(u.entry().customer_id())) continue;
      RETURN_IF_ERROR(reveal(u));
      if (!on_update(u)) return absl::OkStatus();
    }
    RETURN_IF_ERROR(rocks::FromRocks(it->status(), "reading the journey feed"));
  }
  return absl::CancelledError("subscriber went away");
}

}  // namespace threadline::journey
