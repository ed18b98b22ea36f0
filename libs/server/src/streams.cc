#include "streams.h"

#include "threadline/common/log.h"

namespace threadline::server {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("server");
  return *log;
}

// A flood of refused streams is one misbehaving client: log it, not every
// refusal.
LogEvery& RefusedLogLimit() {
  static auto* limit = new LogEvery(std::chrono::seconds(10));
  return *limit;
}

}  // namespace

Streams::Streams(StreamLimits limits, const Authenticator* auth, ServerStats* stats)
    : limits_(limits), auth_(auth), stats_(stats) {
  for (size_t i = 0; i < limits_.threads; ++i) workers_.emplace_back([this] { Work(); });
  ticker_ = std::thread([this] { TickLoop(); });
}

Streams::~Streams() { Stop(); }

absl::Status Streams::Admit(const std::shared_ptr<OpenStream>& stream,
                            const std::string& principal) {
  std::lock_guard lock(mu_);
  auto it = per_principal_.find(principal);
  const size_t mine = it == per_principal_.end() ? 0 : it->second;
  absl::Status refused;
  if (open_.size() >= limits_.max_streams) {
    refused = absl::ResourceExhaustedError("this server has " + std::to_string(open_.size()) +
                                           " streams open, the most --grpc-max-streams allows (" +
                                           std::to_string(limits_.max_streams) + "); retry later");
  } else if (mine >= limits_.max_streams_per_principal) {
    refused = absl::ResourceExhaustedError(
        "principal '" + principal + "' has " + std::to_string(mine) +
        " streams open, the most --grpc-max-streams-per-principal allows (" +
        std::to_string(limits_.max_streams_per_principal) +
        "); close the streams it no longer reads");
  }
  if (!refused.ok()) {
    stats_->StreamRefused(/*per_principal=*/open_.size() < limits_.max_streams);
    if (RefusedLogLimit().Allow()) {
      Log().Warn("stream refused",
                 {{"principal", principal}, {"reason", std::string(refused.message())}});
    }
    return refused;
  }
  open_.emplace(stream.get(), stream);
  ++per_principal_[principal];
  stats_->StreamOpened();
  return absl::OkStatus();
}

void Streams::Release(OpenStream* stream, const std::string& principal) {
  std::shared_ptr<OpenStream> last;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = open_.find(stream);
  if (it == open_.end()) return;
  last = std::move(it->second);
  open_.erase(it);
  auto mine = per_principal_.find(principal);
  if (mine != per_principal_.end() && --mine->second == 0) per_principal_.erase(mine);
  stats_->StreamClosed();
}

void Streams::Post(std::shared_ptr<OpenStream> stream) {
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(stream));
  }
  queue_cv_.notify_one();
}

size_t Streams::open() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

void Streams::Stop() {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  stop_cv_.notify_all();
  for (auto& t : workers_) t.join();
  if (ticker_.joinable()) ticker_.join();
  std::lock_guard lock(queue_mu_);
  queue_.clear();
}

void Streams::Work() {
  while (true) {
    std::shared_ptr<OpenStream> next;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next->Pump();
  }
}

void Streams::TickLoop() {
  uint64_t generation = auth_->generation();
  std::vector<std::shared_ptr<OpenStream>> streams;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      if (stop_cv_.wait_for(lock, limits_.tick, [&] { return stopping_; })) return;
    }
    const uint64_t now_generation = auth_->generation();
    const bool reloaded = now_generation != generation;
    generation = now_generation;
    {
      std::lock_guard lock(mu_);
      streams.clear();
      streams.reserve(open_.size());
      for (const auto& [ptr, stream] : open_) streams.push_back(stream);
    }
    // Outside the lock: a tick may end a stream, which releases it.
    const auto now = std::chrono::steady_clock::now();
    for (const auto& s : streams) s->Tick(now, limits_.write_timeout, reloaded);
    streams.clear();
  }
}

}  // namespace threadline::server
