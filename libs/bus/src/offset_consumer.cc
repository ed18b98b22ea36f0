#include "threadline/bus/offset_consumer.h"

#include <algorithm>

#include "threadline/common/status.h"

namespace threadline::bus {

absl::StatusOr<std::unique_ptr<OffsetConsumer>> OffsetConsumer::Open(Bus* bus,
                                                                     OffsetConsumerOptions options,
                                                                     const LoadOffsetsFn& load,
                                                                     ApplyBatchFn apply) {
  if (options.name.empty()) return absl::InvalidArgumentError("a consumer needs a name");
  std::unique_ptr<OffsetConsumer> c(new OffsetConsumer(std::move(options), std::move(apply)));
  RETURN_IF_ERROR(c->Assign(bus, load));
  return c;
}

OffsetConsumer::OffsetConsumer(OffsetConsumerOptions options, ApplyBatchFn apply)
    : options_(std::move(options)), apply_(std::move(apply)) {}

OffsetConsumer::~OffsetConsumer() { Stop(); }

absl::Status OffsetConsumer::Assign(Bus* bus, const LoadOffsetsFn& load) {
  ASSIGN_OR_RETURN(consumer_, bus->NewConsumer());
  ASSIGN_OR_RETURN(Offsets stored, load());
  std::vector<PartitionStart> starts;
  Offsets next, ends;
  for (const auto& topic : options_.topics) {
    ASSIGN_OR_RETURN(int32_t partitions, bus->PartitionCount(topic));
    ASSIGN_OR_RETURN(std::vector<int64_t> end, bus->EndOffsets(topic));
    for (int32_t p = 0; p < partitions; ++p) {
      TopicPartition tp{topic, p};
      auto it = stored.find(tp);
      int64_t offset = it == stored.end() ? 0 : it->second;
      starts.push_back({tp, offset});
      next[tp] = offset;
      ends[tp] = p < static_cast<int32_t>(end.size()) ? end[p] : 0;
    }
  }
  RETURN_IF_ERROR(consumer_->Assign(starts));
  std::lock_guard lock(mu_);
  next_ = std::move(next);
  ends_ = std::move(ends);
  return absl::OkStatus();
}

void OffsetConsumer::Start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void OffsetConsumer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    stop_cv_.notify_all();
  }
  if (!running_.exchange(false)) return;
  consumer_->Wake();
  if (thread_.joinable()) thread_.join();
}

absl::Status OffsetConsumer::CatchUp(
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  uint64_t total = 0;
  for (const auto& [tp, end] : ends_) total += static_cast<uint64_t>(end);
  while (!CaughtUp()) {
    if (absl::Status s = Step(); !s.ok()) {
      rewind_ = true;
      std::lock_guard lock(mu_);
      ++stats_.errors;
      return s;
    }
    if (progress) {
      uint64_t done = 0;
      {
        std::lock_guard lock(mu_);
        for (const auto& [tp, end] : ends_) {
          done += static_cast<uint64_t>(std::min(next_[tp], end));
        }
      }
      progress(done, total);
    }
  }
  return absl::OkStatus();
}

bool OffsetConsumer::CaughtUp() const {
  std::lock_guard lock(mu_);
  for (const auto& [tp, end] : ends_) {
    auto it = next_.find(tp);
    if (it == next_.end() || it->second < end) return false;
  }
  return true;
}

Offsets OffsetConsumer::Positions() const {
  std::lock_guard lock(mu_);
  return next_;
}

Offsets OffsetConsumer::Ends() const {
  std::lock_guard lock(mu_);
  return ends_;
}

OffsetConsumerStats OffsetConsumer::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

absl::Status OffsetConsumer::Step() {
  // Reading on after a batch that was not stored would store offsets past
  // it: go back to the stored positions first, however often that fails.
  if (rewind_) RETURN_IF_ERROR(Rewind());
  ASSIGN_OR_RETURN(std::vector<Message> batch,
                   consumer_->Poll(options_.batch_size, options_.poll_wait));
  if (batch.empty()) return absl::OkStatus();
  Offsets next;
  for (const auto& m : batch) next[{m.topic, m.partition}] = m.offset + 1;
  RETURN_IF_ERROR(apply_(batch, next));
  std::lock_guard lock(mu_);
  for (const auto& [tp, offset] : next) next_[tp] = offset;
  stats_.consumed += batch.size();
  return absl::OkStatus();
}

absl::Status OffsetConsumer::Rewind() {
  std::vector<PartitionStart> starts;
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, next] : next_) starts.push_back({tp, next});
  }
  RETURN_IF_ERROR(consumer_->Assign(starts));
  rewind_ = false;
  return absl::OkStatus();
}

void OffsetConsumer::Loop() {
  while (running_) {
    absl::Status s = Step();
    if (s.ok()) continue;
    {
      std::lock_guard lock(mu_);
      ++stats_.errors;
    }
    if (errors_.Allow()) {
      options_.log.Error(options_.failure + " failed; retrying from the stored offsets",
                         {{"consumer", options_.name}, {"error", s.ToString()}});
    }
    // The batch was not stored: the next Step reads it again from the
    // stored positions.
    rewind_ = true;
    std::unique_lock lock(mu_);
    stop_cv_.wait_for(lock, options_.retry_backoff, [&] { return stopping_; });
  }
}

}  // namespace threadline::bus
