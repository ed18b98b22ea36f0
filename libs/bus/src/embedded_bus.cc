#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "threadline/bus/embedded.h"
#include "threadline/common/coding.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::bus {
namespace {

using coding::GetFixed32BE;
using coding::GetFixed64BE;
using coding::GetString;
using coding::PutFixed32BE;
using coding::PutFixed64BE;
using coding::PutString;

// The two key families (README.md): topic metadata, "meta/topic/" topic ->
// partition count (be32), and messages, "m/" topic NUL partition (be32)
// offset (be64) -> record.
constexpr char kTopicMetaPrefix[] = "meta/topic/";
constexpr char kMessagePrefix[] = "m/";

using rocks::FromRocks;

std::string PartitionPrefix(std::string_view topic, int32_t partition) {
  std::string k = kMessagePrefix;
  k.append(topic);
  k.push_back('\0');
  PutFixed32BE(k, static_cast<uint32_t>(partition));
  return k;
}

std::string MessageKey(std::string_view topic, int32_t partition, int64_t offset) {
  std::string k = PartitionPrefix(topic, partition);
  PutFixed64BE(k, static_cast<uint64_t>(offset));
  return k;
}

std::string EncodeRecord(const OutMessage& m, int64_t timestamp_ms) {
  std::string out;
  PutFixed64BE(out, static_cast<uint64_t>(timestamp_ms));
  PutString(out, m.key);
  PutString(out, m.value);
  PutFixed32BE(out, static_cast<uint32_t>(m.headers.size()));
  for (const auto& h : m.headers) {
    PutString(out, h.key);
    PutString(out, h.value);
  }
  return out;
}

bool DecodeRecord(std::string_view in, Message& m) {
  if (in.size() < 8) return false;
  m.timestamp_ms = static_cast<int64_t>(GetFixed64BE(in));
  in.remove_prefix(8);
  auto key = GetString(in);
  auto value = GetString(in);
  if (!key || !value || in.size() < 4) return false;
  m.key = std::move(*key);
  m.value = std::move(*value);
  uint32_t n = GetFixed32BE(in);
  in.remove_prefix(4);
  for (uint32_t i = 0; i < n; ++i) {
    auto hk = GetString(in);
    auto hv = GetString(in);
    if (!hk || !hv) return false;
    m.headers.push_back({std::move(*hk), std::move(*hv)});
  }
  return true;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class EmbeddedBus;

class EmbeddedPublisher final : public Publisher {
 public:
  explicit EmbeddedPublisher(EmbeddedBus* bus) : bus_(bus) {}
  ~EmbeddedPublisher() override { Flush(std::chrono::seconds(30)).IgnoreError(); }
  absl::Status Publish(OutMessage message, DeliveryCallback done) override;
  absl::Status Flush(std::chrono::milliseconds timeout) override;

  void Delivered() {
    std::lock_guard lock(mu_);
    --outstanding_;
    cv_.notify_all();
  }

 private:
  EmbeddedBus* bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t outstanding_ = 0;
};

class EmbeddedConsumer;

class EmbeddedBus final : public Bus {
 public:
  EmbeddedBus(EmbeddedBusOptions options, rocks::Opened opened)
      : options_(std::move(options)), db_(std::move(opened.db)), guard_(std::move(opened.guard)) {}

  ~EmbeddedBus() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      queue_cv_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
    guard_->Stop();
    db_->Close().PermitUncheckedError();
  }

  std::optional<StoreHealth> LocalStoreHealth() const override { return guard_->Health(); }

  absl::Status Init() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(kTopicMetaPrefix); it->Valid() && it->key().starts_with(kTopicMetaPrefix);
         it->Next()) {
      std::string topic = it->key().ToString().substr(sizeof(kTopicMetaPrefix) - 1);
      int32_t partitions = static_cast<int32_t>(GetFixed32BE(it->value().ToStringView()));
      auto& ends = end_offsets_[topic];
      ends.resize(partitions, 0);
      for (int32_t p = 0; p < partitions; ++p) {
        std::string prefix = PartitionPrefix(topic, p);
        std::unique_ptr<rocksdb::Iterator> mit(db_->NewIterator(rocksdb::ReadOptions()));
        mit->SeekForPrev(MessageKey(topic, p, INT64_MAX));
        if (mit->Valid() && mit->key().starts_with(prefix)) {
          ends[p] =
              static_cast<int64_t>(GetFixed64BE(mit->key().ToStringView().substr(prefix.size()))) +
              1;
        }
        RETURN_IF_ERROR(FromRocks(mit->status(), "scanning topic " + topic));
      }
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "loading topics"));
    writer_ = std::thread([this] { WriterLoop(); });
    return absl::OkStatus();
  }

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics) override {
    std::lock_guard lock(mu_);
    for (const auto& t : topics) {
      if (t.name.empty() || t.name.find('\0') != std::string::npos || t.partitions <= 0) {
        return absl::InvalidArgumentError("topic '" + t.name +
                                          "' needs a name and at least one partition");
      }
      if (end_offsets_.count(t.name)) continue;
      std::string value;
      PutFixed32BE(value, static_cast<uint32_t>(t.partitions));
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      rocksdb::WriteBatch batch;
      batch.Put(kTopicMetaPrefix + t.name, value).PermitUncheckedError();
      RETURN_IF_ERROR(guard_->Write(wo, &batch, "creating topic " + t.name));
      end_offsets_[t.name].assign(t.partitions, 0);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> PartitionCount(const std::string& topic) override {
    std::lock_guard lock(mu_);
    auto it = end_offsets_.find(topic);
    if (it == end_offsets_.end()) return absl::NotFoundError("topic " + topic + " does not exist");
    return static_cast<int32_t>(it->second.size());
  }

  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& topic) override {
    std::lock_guard lock(mu_);
    auto it = end_offsets_.find(topic);
    if (it == end_offsets_.end()) return absl::NotFoundError("topic " + topic + " does not exist");
    return it->second;
  }

  absl::StatusOr<std::unique_ptr<Publisher>> NewPublisher() override {
    return std::unique_ptr<Publisher>(new EmbeddedPublisher(this));
  }

  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer() override;

  // Called by publishers.
  absl::Status Enqueue(OutMessage message, DeliveryCallback done, EmbeddedPublisher* from) {
    std::lock_guard lock(mu_);
    auto it = end_offsets_.find(message.topic);
    if (it == end_offsets_.end()) {
      return absl::NotFoundError("topic " + message.topic + " does not exist");
    }
    if (stopping_) return absl::UnavailableError("the embedded bus is shutting down");
    int32_t partition = PartitionForKey(message.key, static_cast<int32_t>(it->second.size()));
    queue_.push_back(Pending{std::move(message), partition, std::move(done), from});
    queue_cv_.notify_one();
    return absl::OkStatus();
  }

  // Reads up to `max` messages of one partition starting at `offset`.
  absl::Status Read(const TopicPartition& tp, int64_t offset, size_t max,
                    std::vector<Message>& out) {
    std::string prefix = PartitionPrefix(tp.topic, tp.partition);
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    size_t taken = 0;
    for (it->Seek(MessageKey(tp.topic, tp.partition, offset));
         it->Valid() && it->key().starts_with(prefix) && taken < max; it->Next()) {
      Message m;
      m.topic = tp.topic;
      m.partition = tp.partition;
      m.offset = static_cast<int64_t>(GetFixed64BE(it->key().ToStringView().substr(prefix.size())));
      if (!DecodeRecord(it->value().ToStringView(), m)) {
        return absl::DataLossError("message " + tp.topic + "/" + std::to_string(tp.partition) +
                                   "@" + std::to_string(m.offset) + " is corrupt");
      }
      out.push_back(std::move(m));
      ++taken;
    }
    return FromRocks(it->status(), "reading " + tp.topic);
  }

  // Blocks until something is appended after `seen`, `deadline` passes, or
  // `woken` is set. Returns the current append counter.
  uint64_t WaitForAppend(uint64_t seen, std::chrono::steady_clock::time_point deadline,
                         const std::atomic<bool>& woken) {
    std::unique_lock lock(mu_);
    appended_cv_.wait_until(lock, deadline,
                            [&] { return appended_ != seen || woken.load() || stopping_; });
    return appended_;
  }
  uint64_t AppendCounter() {
    std::lock_guard lock(mu_);
    return appended_;
  }
  void WakeAll() {
    std::lock_guard lock(mu_);
    appended_cv_.notify_all();
  }

 private:
  struct Pending {
    OutMessage message;
    int32_t partition;
    DeliveryCallback done;
    EmbeddedPublisher* from;
  };

  void WriterLoop() {
    while (true) {
      std::deque<Pending> batch;
      {
        std::unique_lock lock(mu_);
        queue_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty() && stopping_) return;
        batch.swap(queue_);
      }
      // Offsets are assigned here, on the only writer thread, so each
      // partition stays gap-free and in publish order.
      rocksdb::WriteBatch wb;
      std::vector<int64_t> offsets;
      offsets.reserve(batch.size());
      std::map<std::string, std::vector<int64_t>> next;
      {
        std::lock_guard lock(mu_);
        for (auto& p : batch) {
          auto& ends =
              next.try_emplace(p.message.topic, end_offsets_[p.message.topic]).first->second;
          int64_t offset = ends[p.partition]++;
          offsets.push_back(offset);
          wb.Put(MessageKey(p.message.topic, p.partition, offset), EncodeRecord(p.message, NowMs()))
              .PermitUncheckedError();
        }
      }
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      absl::Status status = guard_->Write(wo, &wb, "writing to the embedded bus");
      if (status.ok()) {
        std::lock_guard lock(mu_);
        for (auto& [topic, ends] : next) end_offsets_[topic] = ends;
        ++appended_;
        appended_cv_.notify_all();
      } else if (guard_->Health().writable || refused_log_.Allow()) {
        // While the bus cannot write, every batch fails alike and the guard
        // has said why.
        log_.Error("write failed", {{"error", status.ToString()}});
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        auto& p = batch[i];
        if (p.done) p.done(status, p.partition, status.ok() ? offsets[i] : -1);
        p.from->Delivered();
      }
    }
  }

  EmbeddedBusOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocks::WriteGuard> guard_;  // every write goes through it
  std::mutex mu_;
  std::condition_variable queue_cv_;
  std::condition_variable appended_cv_;
  std::deque<Pending> queue_;
  std::map<std::string, std::vector<int64_t>> end_offsets_;
  uint64_t appended_ = 0;
  bool stopping_ = false;
  std::thread writer_;
  Logger log_{"bus.embedded"};
  LogEvery refused_log_{std::chrono::seconds(10)};
};

absl::Status EmbeddedPublisher::Publish(OutMessage message, DeliveryCallback done) {
  {
    std::lock_guard lock(mu_);
    ++outstanding_;
  }
  absl::Status s = bus_->Enqueue(std::move(message), std::move(done), this);
  if (!s.ok()) Delivered();
  return s;
}

absl::Status EmbeddedPublisher::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return outstanding_ == 0; })) {
    return absl::DeadlineExceededError(std::to_string(outstanding_) +
                                       " messages still undelivered after flush timeout");
  }
  return absl::OkStatus();
}

class EmbeddedConsumer final : public Consumer {
 public:
  explicit EmbeddedConsumer(EmbeddedBus* bus) : bus_(bus) {}

  absl::Status Assign(const std::vector<PartitionStart>& starts) override {
    std::map<TopicPartition, int64_t> next;
    for (const auto& s : starts) {
      ASSIGN_OR_RETURN(int32_t count, bus_->PartitionCount(s.tp.topic));
      if (s.tp.partition < 0 || s.tp.partition >= count) {
        return absl::InvalidArgumentError("topic " + s.tp.topic + " has no partition " +
                                          std::to_string(s.tp.partition));
      }
      next[s.tp] = std::max<int64_t>(0, s.offset);
    }
    next_ = std::move(next);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Message>> Poll(size_t max_messages,
                                            std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<Message> out;
    if (max_messages == 0) return out;
    while (true) {
      uint64_t seen = bus_->AppendCounter();
      RETURN_IF_ERROR(ReadAvailable(max_messages, out));
      if (!out.empty() || woken_.exchange(false)) return out;
      if (std::chrono::steady_clock::now() >= deadline) return out;
      bus_->WaitForAppend(seen, deadline, woken_);
    }
  }

  void Wake() override {
    woken_ = true;
    bus_->WakeAll();
  }

 private:
  // Round-robin over partitions, starting one further each poll, so a busy
  // partition cannot starve the others.
  absl::Status ReadAvailable(size_t max, std::vector<Message>& out) {
    if (next_.empty()) return absl::OkStatus();
    std::vector<TopicPartition> order;
    for (const auto& [tp, off] : next_) order.push_back(tp);
    size_t start = rotate_++ % order.size();
    size_t share = std::max<size_t>(1, max / order.size());
    for (size_t i = 0; i < order.size() && out.size() < max; ++i) {
      const auto& tp = order[(start + i) % order.size()];
      size_t before = out.size();
      RETURN_IF_ERROR(bus_->Read(tp, next_[tp], std::min(share, max - out.size()), out));
      if (out.size() > before) next_[tp] = out.back().offset + 1;
    }
    return absl::OkStatus();
  }

  EmbeddedBus* bus_;
  std::map<TopicPartition, int64_t> next_;
  std::atomic<bool> woken_{false};
  size_t rotate_ = 0;
};

absl::StatusOr<std::unique_ptr<Consumer>> EmbeddedBus::NewConsumer() {
  return std::unique_ptr<Consumer>(new EmbeddedConsumer(this));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Bus>> OpenEmbeddedBus(const EmbeddedBusOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("embedded bus path is empty");
  rocksdb::Options o;
  o.create_if_missing = true;
  ASSIGN_OR_RETURN(rocks::Opened opened, rocks::Open(o, options.path, "embedded bus"));
  auto bus = std::make_unique<EmbeddedBus>(options, std::move(opened));
  RETURN_IF_ERROR(bus->Init());
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace threadline::bus
