#include "feed.h"

#include <condition_variable>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

// A dashboard follows one customer, a handful, or all (none listed).
constexpr size_t kMaxSubscribedCustomers = 1000;
// Feed entries one Next looks at before it yields (kAgain), so a subscriber
// to one customer does not hold a stream thread through a long backlog.
constexpr int kEntriesPerStep = 256;

}  // namespace

// One subscriber's place in the feed. Next is called by one thread at a
// time; waking is the feed's, under its lock.
class FeedSubscription final : public server::StreamSource<v1::JourneyUpdate> {
 public:
  FeedSubscription(Feed& feed, std::set<std::string> customers, uint64_t after, uint64_t max_lag,
                   RevealFn reveal, server::StreamWake wake)
      : feed_(feed),
        customers_(std::move(customers)),
        after_(after),
        max_lag_(max_lag),
        reveal_(std::move(reveal)),
        wake_(std::move(wake)) {
    feed_.subscribers_.fetch_add(1, std::memory_order_relaxed);
  }

  ~FeedSubscription() override {
    {
      // After this, the feed can no longer call wake_.
      std::lock_guard lock(feed_.mu_);
      feed_.waiting_.erase(this);
    }
    feed_.subscribers_.fetch_sub(1, std::memory_order_relaxed);
  }

  absl::StatusOr<server::StreamStep> Next(v1::JourneyUpdate& out) override {
    uint64_t head;
    {
      std::lock_guard lock(feed_.mu_);
      head = feed_.sequence_;
      if (after_ >= head) {
        if (!feed_.open_) {
          return absl::UnavailableError("the journey projector is shutting down; resume later");
        }
        feed_.waiting_.insert(this);
        return server::StreamStep::kWait;
      }
    }
    if (head - after_ > max_lag_) {
      return absl::ResourceExhaustedError("subscriber fell " + std::to_string(head - after_) +
                                          " updates behind; resume with the last token received");
    }
    // One iterator serves every entry up to the head it was made at; a
    // subscriber that caught up lets it go, so an idle one pins nothing.
    if (it_ == nullptr || after_ >= it_head_) {
      it_ = feed_.store_.NewIterator(keys::Family::kFeed);
      it_->Seek(keys::FeedKey(after_ + 1));
      it_head_ = head;
    }
    for (int looked = 0; looked < kEntriesPerStep; ++looked) {
      if (!it_->Valid()) break;
      const uint64_t seq = keys::FeedSequence(it_->key().ToStringView());
      if (seq > it_head_) break;
      after_ = seq;
      if (!out.ParseFromArray(it_->value().data(), static_cast<int>(it_->value().size()))) {
        return absl::DataLossError("journey feed entry " + std::to_string(seq) +
                                   " does not decode");
      }
      it_->Next();
      if (!customers_.empty() && !customers_.count(out.entry().customer_id())) continue;
      RETURN_IF_ERROR(reveal_(out));
      return server::StreamStep::kMessage;
    }
    RETURN_IF_ERROR(rocks::FromRocks(it_->status(), "reading the journey feed"));
    if (it_->Valid() && keys::FeedSequence(it_->key().ToStringView()) <= it_head_) {
      return server::StreamStep::kAgain;  // more to look at: after other streams
    }
    if (after_ < it_head_) {
      return absl::DataLossError("the journey feed has no entries after " + std::to_string(after_) +
                                 " up to " + std::to_string(it_head_));
    }
    it_.reset();
    return server::StreamStep::kAgain;  // caught up with it_head_: look at the head again
  }

  // Under the feed's lock.
  void Wake() { wake_(); }

 private:
  Feed& feed_;
  const std::set<std::string> customers_;
  uint64_t after_;  // the last sequence number looked at
  const uint64_t max_lag_;
  const RevealFn reveal_;
  const server::StreamWake wake_;
  std::unique_ptr<rocksdb::Iterator> it_;
  uint64_t it_head_ = 0;  // the head when it_ was made
};

uint64_t Feed::sequence() const {
  std::lock_guard lock(mu_);
  return sequence_;
}

void Feed::Advance(uint64_t sequence) {
  std::lock_guard lock(mu_);
  sequence_ = sequence;
  for (auto* s : waiting_) s->Wake();
  waiting_.clear();
}

void Feed::Open() {
  std::lock_guard lock(mu_);
  open_ = true;
}

void Feed::Close() {
  std::lock_guard lock(mu_);
  open_ = false;
  for (auto* s : waiting_) s->Wake();
  waiting_.clear();
}

absl::StatusOr<std::unique_ptr<server::StreamSource<v1::JourneyUpdate>>> Feed::Subscribe(
    const v1::SubscribeJourneyRequest& r, uint64_t max_lag, RevealFn reveal,
    server::StreamWake wake) {
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
  return std::make_unique<FeedSubscription>(*this, std::move(customers), after, max_lag,
                                            std::move(reveal), std::move(wake));
}

absl::Status Feed::Subscribe(const v1::SubscribeJourneyRequest& r,
                             const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                             const std::function<bool()>& cancelled, uint64_t max_lag,
                             const RevealFn& reveal) {
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;  // guarded by mu
  // Declared after what its wake uses: destroyed first, it unregisters
  // before they go.
  ASSIGN_OR_RETURN(auto subscription, Subscribe(r, max_lag, reveal, [&] {
                     std::lock_guard lock(mu);
                     woken = true;
                     cv.notify_one();
                   }));
  v1::JourneyUpdate u;
  while (!cancelled()) {
    u.Clear();
    ASSIGN_OR_RETURN(server::StreamStep step, subscription->Next(u));
    if (step == server::StreamStep::kMessage) {
      if (!on_update(u)) return absl::OkStatus();
    } else if (step == server::StreamStep::kWait) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return woken; });
      woken = false;
    }
  }
  return absl::CancelledError("subscriber went away");
}

}  // namespace threadline::journey
