#include "threadline/eventstore/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "threadline/common/coding.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::eventstore {
namespace {

using coding::Fixed64Key;
using coding::GetFixed32BE;
using coding::GetFixed64BE;
using coding::GetString;
using coding::PutFixed32BE;
using coding::PutFixed64BE;
using coding::PutString;

// Column families. "log" holds the envelopes by global position (the outbox
// reads it in order); "streams" maps (stream, version) to a position.
// "snapshots" is no longer written; it stays in the list because RocksDB
// refuses to open a database without naming every family it has.
enum Cf : size_t { kDefault = 0, kLog, kStreams, kIdempotency, kClaims, kSnapshots, kCfCount };
const char* const kCfNames[kCfCount] = {"default",     "log",    "streams",
                                        "idempotency", "claims", "snapshots"};

using rocks::FromRocks;

std::string StreamKey(std::string_view stream, uint64_t version) {
  std::string k(stream);
  k.push_back('\0');
  PutFixed64BE(k, version);
  return k;
}

std::string ClaimKey(std::string_view index, std::string_view value) {
  std::string k(index);
  k.push_back('\0');
  k.append(value);
  return k;
}

// Keys of the default column family.
std::string OutboxCursorKey(std::string_view name) { return "outbox/" + std::string(name); }

std::string OffsetPrefix(std::string_view consumer) {
  std::string k = "offset/";
  k.append(consumer);
  k.push_back('\0');
  return k;
}

std::string OffsetKey(const ConsumerOffset& o) {
  std::string k = OffsetPrefix(o.consumer);
  k.append(o.topic);
  k.push_back('\0');
  PutFixed32BE(k, static_cast<uint32_t>(o.partition));
  return k;
}

// What an append writes besides its events, carried on its last event so
// that the store's topic holds everything needed to rebuild it.
void RecordAppend(const AppendRequest& req, v1::AppendRecord& r) {
  r.Clear();
  r.set_idempotency_key(req.idempotency_key);
  r.set_request_fingerprint(req.request_fingerprint);
  r.set_response(req.response);
  auto put = [](const UniqueClaim& c, v1::RecordedClaim* out) {
    out->set_index(c.index);
    out->set_value(c.value);
    out->set_owner(c.owner);
  };
  for (const auto& c : req.claims) put(c, r.add_claims());
  for (const auto& c : req.releases) put(c, r.add_releases());
  for (const auto& o : req.offsets) {
    auto* out = r.add_offsets();
    out->set_consumer(o.consumer);
    out->set_topic(o.topic);
    out->set_partition(o.partition);
    out->set_next_offset(o.next_offset);
  }
}

// A restored append's events must continue the stream exactly.
absl::Status CheckRestoredVersions(const AppendRequest& req, uint64_t head) {
  for (const auto& e : req.events) {
    if (e.version() != ++head) {
      return absl::FailedPreconditionError(
          "restoring stream " + req.stream + ": event " + e.event_id() + " has version " +
          std::to_string(e.version()) + " where the stream expects " + std::to_string(head));
    }
  }
  return absl::OkStatus();
}

std::string EncodeIdempotent(const IdempotentRecord& r) {
  std::string out;
  PutString(out, r.request_fingerprint);
  PutFixed64BE(out, r.result.version.value());
  PutString(out, r.result.response);
  PutFixed32BE(out, static_cast<uint32_t>(r.result.event_ids.size()));
  for (const auto& id : r.result.event_ids) PutString(out, id);
  return out;
}

std::optional<IdempotentRecord> DecodeIdempotent(std::string_view in) {
  IdempotentRecord r;
  auto fp = GetString(in);
  if (!fp || in.size() < 8) return std::nullopt;
  r.request_fingerprint = std::move(*fp);
  r.result.version = StreamVersion(GetFixed64BE(in));
  in.remove_prefix(8);
  auto resp = GetString(in);
  if (!resp || in.size() < 4) return std::nullopt;
  r.result.response = std::move(*resp);
  uint32_t n = GetFixed32BE(in);
  in.remove_prefix(4);
  for (uint32_t i = 0; i < n; ++i) {
    auto id = GetString(in);
    if (!id) return std::nullopt;
    r.result.event_ids.push_back(std::move(*id));
  }
  return r;
}

google::protobuf::Timestamp ToTimestamp(TimePoint t) {
  int64_t us = ToUnixMicros(t);
  google::protobuf::Timestamp ts;
  ts.set_seconds(us / 1'000'000);
  ts.set_nanos(static_cast<int32_t>((us % 1'000'000) * 1000));
  return ts;
}

class RocksEventStore final : public EventStore {
 public:
  RocksEventStore(Options options, rocks::Opened opened)
      : options_(std::move(options)),
        db_(std::move(opened.db)),
        cfs_(std::move(opened.handles)),
        guard_(std::move(opened.guard)) {
    clock_ = options_.clock ? options_.clock : &Clock::Real();
  }

  ~RocksEventStore() override {
    // No recovery may run while the database closes.
    guard_->Stop();
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  absl::Status Init() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kLog]));
    it->SeekToLast();
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the last log position"));
    last_position_.store(it->Valid() ? GetFixed64BE(it->key().ToStringView()) : 0);
    return absl::OkStatus();
  }

  absl::StatusOr<AppendResult> Write(StateWrite write) override {
    // An append without a stream: CommitGroup skips the stream's checks.
    AppendRequest request;
    request.claims = std::move(write.claims);
    request.releases = std::move(write.releases);
    request.offsets = std::move(write.offsets);
    request.idempotency_key = std::move(write.idempotency_key);
    request.request_fingerprint = std::move(write.request_fingerprint);
    request.response = std::move(write.response);
    return AppendGrouped(std::move(request));
  }

  absl::StatusOr<AppendResult> Append(AppendRequest request) override {
    if (request.stream.empty() || request.stream.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("stream name must be non-empty and contain no NUL");
    }
    auto start = std::chrono::steady_clock::now();
    auto result = AppendGrouped(std::move(request));
    if (result.ok()) append_latency_.Observe(std::chrono::steady_clock::now() - start);
    return result;
  }

  HistogramSnapshot AppendLatency() const override { return append_latency_.Snapshot(); }

  StoreHealth Health() const override { return guard_->Health(); }

  // Commits `request` in the next group. An empty stream (Write) has no
  // events, no version and no concurrency check.
  absl::StatusOr<AppendResult> AppendGrouped(AppendRequest request) {
    Writer w;
    w.request = &request;
    std::unique_lock lock(mu_);
    queue_.push_back(&w);
    cv_.wait(lock, [&] { return w.done || !leader_active_; });
    if (w.done) return std::move(w.result);

    // This caller leads: it commits every append queued so far in one
    // WriteBatch and one fsync (group commit).
    leader_active_ = true;
    std::vector<Writer*> group(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (Writer* g : group) g->done = true;
    leader_active_ = false;
    cv_.notify_all();
    lock.unlock();

    NotifyListeners();
    return std::move(w.result);
  }

  absl::StatusOr<std::optional<IdempotentRecord>> FindIdempotent(const std::string& key) override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kIdempotency], key, &value);
    if (s.IsNotFound()) return std::optional<IdempotentRecord>();
    RETURN_IF_ERROR(FromRocks(s, "reading an idempotency key"));
    auto rec = DecodeIdempotent(value);
    if (!rec) return absl::DataLossError("idempotency record for '" + key + "' is corrupt");
    rec->result.replayed = true;
    return rec;
  }

  absl::StatusOr<std::vector<v1::EventEnvelope>> ReadStream(const std::string& stream,
                                                            StreamVersion after,
                                                            size_t max) override {
    std::vector<std::string> position_keys;
    {
      std::string prefix = stream;
      prefix.push_back('\0');
      rocksdb::ReadOptions ro;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kStreams]));
      for (it->Seek(StreamKey(stream, after.value() + 1));
           it->Valid() && it->key().starts_with(prefix); it->Next()) {
        position_keys.push_back(it->value().ToString());
        if (max != 0 && position_keys.size() >= max) break;
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "reading stream " + stream));
    }
    return ReadLogKeys(position_keys);
  }

  absl::StatusOr<StreamVersion> StreamHead(const std::string& stream) override {
    return ReadHead(stream);
  }

  absl::StatusOr<std::vector<StoredEvent>> ReadAll(GlobalPosition after, size_t max) override {
    std::vector<StoredEvent> out;
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kLog]));
    for (it->Seek(Fixed64Key(after.value() + 1)); it->Valid() && out.size() < max; it->Next()) {
      StoredEvent e;
      e.position = GlobalPosition(GetFixed64BE(it->key().ToStringView()));
      if (!e.envelope.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("event at position " + std::to_string(e.position.value()) +
                                   " does not decode");
      }
      out.push_back(std::move(e));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the global log"));
    return out;
  }

  GlobalPosition LastPosition() const override {
    return GlobalPosition(last_position_.load(std::memory_order_acquire));
  }

  absl::StatusOr<std::optional<std::string>> FindClaim(const std::string& index,
                                                       const std::string& value) override {
    std::string owner;
    auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kClaims], ClaimKey(index, value), &owner);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "reading a claim"));
    return std::optional<std::string>(std::move(owner));
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanClaims(
      const std::string& index, const std::string& prefix, size_t max) override {
    std::vector<std::pair<std::string, std::string>> out;
    std::string start = ClaimKey(index, prefix);
    std::string index_prefix = index + '\0';
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kClaims]));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start) && out.size() < max;
         it->Next()) {
      out.emplace_back(it->key().ToString().substr(index_prefix.size()), it->value().ToString());
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scanning claims"));
    return out;
  }

  absl::StatusOr<GlobalPosition> OutboxCursor(const std::string& name) override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kDefault], OutboxCursorKey(name), &value);
    if (s.IsNotFound()) return GlobalPosition(0);
    RETURN_IF_ERROR(FromRocks(s, "reading the outbox cursor"));
    if (value.size() != 8) return absl::DataLossError("outbox cursor is corrupt");
    return GlobalPosition(GetFixed64BE(value));
  }

  absl::Status SetOutboxCursor(const std::string& name, GlobalPosition position) override {
    // Losing the latest cursor move in a crash only re-publishes events
    // (consumers drop duplicates by event_id), so no fsync here.
    rocksdb::WriteBatch batch;
    batch.Put(cfs_[kDefault], OutboxCursorKey(name), Fixed64Key(position.value()))
        .PermitUncheckedError();
    return guard_->Write(rocksdb::WriteOptions(), &batch, "saving the outbox cursor");
  }

  absl::StatusOr<std::vector<ConsumerOffset>> LoadOffsets(const std::string& consumer) override {
    std::vector<ConsumerOffset> out;
    std::string prefix = OffsetPrefix(consumer);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDefault]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view rest = it->key().ToStringView().substr(prefix.size());
      size_t nul = rest.find('\0');
      if (nul == std::string_view::npos || rest.size() != nul + 5 || it->value().size() != 8) {
        return absl::DataLossError("consumer offset record is corrupt");
      }
      ConsumerOffset o;
      o.consumer = consumer;
      o.topic = std::string(rest.substr(0, nul));
      o.partition = static_cast<int32_t>(GetFixed32BE(rest.substr(nul + 1)));
      o.next_offset = static_cast<int64_t>(GetFixed64BE(it->value().ToStringView()));
      out.push_back(std::move(o));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "loading consumer offsets"));
    return out;
  }

  void OnAppend(std::function<void(GlobalPosition)> listener) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(listener));
  }

  absl::StatusOr<uint64_t> Checksum() override {
    // Every (cf, key, value), in key order.
    rocks::Digest digest;
    auto mix = [&digest](std::string_view s) { digest.Add(s); };
    for (size_t cf = 0; cf < kCfCount; ++cf) {
      mix(kCfNames[cf]);
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        mix(it->key().ToStringView());
        mix(it->value().ToStringView());
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "checksumming the store"));
    }
    return digest.value();
  }

  absl::StatusOr<VerifyReport> Verify() override {
    VerifyReport report;
    auto problem = [&report](std::string what) {
      if (report.problems.size() < VerifyReport::kMaxProblems) {
        report.problems.push_back(std::move(what));
      } else {
        ++report.more_problems;
      }
    };
    // 1. Every block of every table file against its checksum.
    if (auto s = db_->VerifyChecksum(); !s.ok()) {
      if (!s.IsCorruption()) return FromRocks(s, "verifying checksums");
      problem("checksum: " + s.ToString());
    }
    // 2. The global log: positions 1, 2, ... without a gap.
    uint64_t expected = 1;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kLog]));
      v1::EventEnvelope e;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key().size() != 8) {
          problem("log: a key of " + std::to_string(it->key().size()) + " bytes, not a position");
          continue;
        }
        const uint64_t pos = GetFixed64BE(it->key().ToStringView());
        if (pos != expected) {
          problem("log: positions " + std::to_string(expected) + ".." + std::to_string(pos - 1) +
                  " are missing (the global sequence has a gap)");
        }
        expected = pos + 1;
        ++report.events;
        report.last_position = pos;
        if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
          problem("log: the event at position " + std::to_string(pos) + " does not decode");
        } else if (e.global_position() != pos) {
          problem("log: the event at position " + std::to_string(pos) + " says position " +
                  std::to_string(e.global_position()));
        }
      }
      if (!it->status().ok()) {
        if (!it->status().IsCorruption()) return FromRocks(it->status(), "verifying the log");
        problem("log: " + it->status().ToString());
      }
    }
    // 3. The stream index against the log.
    std::vector<bool> indexed(report.last_position + 1, false);
    {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), cfs_[kStreams]));
      std::string stream;
      uint64_t next_version = 0;
      v1::EventEnvelope e;
      std::string value;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        std::string_view key = it->key().ToStringView();
        if (key.size() < 9 || key[key.size() - 9] != '\0' || it->value().size() != 8) {
          problem("stream index: a malformed entry");
          continue;
        }
        std::string_view name = key.substr(0, key.size() - 9);
        const uint64_t version = GetFixed64BE(key.substr(key.size() - 8));
        if (name != stream) {
          stream.assign(name);
          next_version = 1;
          ++report.streams;
        }
        if (version != next_version) {
          problem("stream index: " + stream + " versions " + std::to_string(next_version) + ".." +
                  std::to_string(version - 1) + " are missing");
        }
        next_version = version + 1;
        const uint64_t pos = GetFixed64BE(it->value().ToStringView());
        auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kLog], it->value(), &value);
        if (s.IsNotFound()) {
          problem("stream index: " + stream + " version " + std::to_string(version) +
                  " points at position " + std::to_string(pos) + ", which is not in the log");
          continue;
        }
        if (!s.ok() && !s.IsCorruption()) return FromRocks(s, "verifying the stream index");
        if (s.ok() && e.ParseFromString(value) && e.version() != version) {
          problem("stream index: " + stream + " version " + std::to_string(version) +
                  " points at position " + std::to_string(pos) + ", an event of version " +
                  std::to_string(e.version()));
        }
        if (pos < indexed.size()) {
          if (indexed[pos]) {
            problem("stream index: position " + std::to_string(pos) + " is in two streams");
          }
          indexed[pos] = true;
        }
      }
      if (!it->status().ok()) {
        if (!it->status().IsCorruption()) {
          return FromRocks(it->status(), "verifying the stream index");
        }
        problem("stream index: " + it->status().ToString());
      }
    }
    // 4. Every event of the log in some stream.
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kLog]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key().size() != 8) continue;
        const uint64_t pos = GetFixed64BE(it->key().ToStringView());
        if (!indexed[pos]) {
          problem("stream index: the event at position " + std::to_string(pos) +
                  " is in no stream");
        }
      }
    }
    return report;
  }

 private:
  struct Writer {
    AppendRequest* request = nullptr;
    absl::StatusOr<AppendResult> result;
    bool done = false;
  };

  rocksdb::WriteOptions WriteOpts() const {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    return wo;
  }

  absl::StatusOr<StreamVersion> ReadHead(const std::string& stream) {
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kStreams]));
    it->SeekForPrev(StreamKey(stream, UINT64_MAX));
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the head of " + stream));
    std::string prefix = stream;
    prefix.push_back('\0');
    if (!it->Valid() || !it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) {
      return StreamVersion(0);
    }
    return StreamVersion(GetFixed64BE(it->key().ToStringView().substr(prefix.size())));
  }

  absl::StatusOr<std::vector<v1::EventEnvelope>> ReadLogKeys(const std::vector<std::string>& keys) {
    std::vector<v1::EventEnvelope> out;
    if (keys.empty()) return out;
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), cfs_[kLog], keys.size(), slices.data(), values.data(),
                  statuses.data());
    out.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      RETURN_IF_ERROR(FromRocks(statuses[i], "reading an event"));
      if (!out[i].ParseFromArray(values[i].data(), static_cast<int>(values[i].size()))) {
        return absl::DataLossError("event at position " + std::to_string(GetFixed64BE(keys[i])) +
                                   " does not decode");
      }
    }
    return out;
  }

  // Validates and stages each writer's append in one batch; on a write
  // failure every staged writer gets the error and nothing is committed.
  void CommitGroup(const std::vector<Writer*>& group) {
    rocksdb::WriteBatch batch;
    std::map<std::string, uint64_t> heads;                // stream -> staged head
    std::map<std::string, std::string> claims;            // claim key -> staged owner
    std::map<std::string, const IdempotentRecord*> idem;  // key -> staged record
    std::vector<IdempotentRecord> staged_records;
    staged_records.reserve(group.size());
    std::vector<Writer*> staged;
    uint64_t position = last_position_.load(std::memory_order_acquire);
    TimePoint now = clock_->Now();

    for (Writer* w : group) {
      AppendRequest& req = *w->request;
      // 1. Idempotency: a key seen before answers with its first result.
      if (!req.idempotency_key.empty()) {
        std::optional<IdempotentRecord> prior;
        if (auto it = idem.find(req.idempotency_key); it != idem.end()) {
          prior = *it->second;
          prior->result.replayed = true;
        } else {
          auto found = FindIdempotent(req.idempotency_key);
          if (!found.ok()) {
            w->result = found.status();
            continue;
          }
          prior = std::move(*found);
        }
        if (prior) {
          if (prior->request_fingerprint != req.request_fingerprint) {
            w->result = absl::InvalidArgumentError(
                "request_id '" + req.idempotency_key +
                "' was already used for a different request; choose a new request_id");
          } else {
            w->result = std::move(prior->result);
          }
          continue;
        }
      }
      // 2. Optimistic concurrency.
      const bool has_stream = !req.stream.empty();
      uint64_t head = 0;
      if (!has_stream) {
        // A state write: no stream to check.
      } else if (auto it = heads.find(req.stream); it != heads.end()) {
        head = it->second;
      } else {
        auto h = ReadHead(req.stream);
        if (!h.ok()) {
          w->result = h.status();
          continue;
        }
        head = h->value();
      }
      if (req.expected_version && req.expected_version->value() != head) {
        w->result = absl::AbortedError("stream " + req.stream + " is at version " +
                                       std::to_string(head) + ", the request expected " +
                                       std::to_string(req.expected_version->value()) +
                                       "; reload it and retry");
        continue;
      }
      // 3. Unique claims.
      absl::Status claim_status;
      for (const auto& c : req.claims) {
        std::string key = ClaimKey(c.index, c.value);
        std::optional<std::string> holder;
        if (auto it = claims.find(key); it != claims.end()) {
          holder = it->second;
        } else {
          auto found = FindClaim(c.index, c.value);
          if (!found.ok()) {
            claim_status = found.status();
            break;
          }
          holder = *found;
        }
        if (holder && !holder->empty() && *holder != c.owner) {
          claim_status = absl::AlreadyExistsError(c.index + " " + c.value +
                                                  " is already registered to " + *holder);
          break;
        }
      }
      if (!claim_status.ok()) {
        w->result = claim_status;
        continue;
      }
      // 4. Stage.
      if (req.restore) {
        if (absl::Status s = CheckRestoredVersions(req, head); !s.ok()) {
          w->result = s;
          continue;
        }
      } else if (!req.events.empty()) {
        RecordAppend(req, *req.events.back().mutable_append_record());
      }
      AppendResult result;
      std::string value;
      for (auto& e : req.events) {
        ++head;
        ++position;
        e.set_version(head);
        e.set_global_position(position);
        if (!req.restore || !e.has_recorded_at()) *e.mutable_recorded_at() = ToTimestamp(now);
        if (!e.has_occurred_at()) *e.mutable_occurred_at() = e.recorded_at();
        value.clear();
        e.SerializeToString(&value);
        std::string pos_key = Fixed64Key(position);
        batch.Put(cfs_[kLog], pos_key, value).PermitUncheckedError();
        batch.Put(cfs_[kStreams], StreamKey(req.stream, head), pos_key).PermitUncheckedError();
        result.event_ids.push_back(e.event_id());
      }
      if (has_stream) heads[req.stream] = head;
      result.version = StreamVersion(head);
      result.response = req.response;
      for (const auto& c : req.claims) {
        std::string key = ClaimKey(c.index, c.value);
        claims[key] = c.owner;
        batch.Put(cfs_[kClaims], key, c.owner).PermitUncheckedError();
      }
      for (const auto& c : req.releases) {
        std::string key = ClaimKey(c.index, c.value);
        std::optional<std::string> holder;
        if (auto it = claims.find(key); it != claims.end()) {
          holder = it->second;
        } else if (auto found = FindClaim(c.index, c.value); found.ok()) {
          holder = *found;
        }
        if (holder && *holder == c.owner) {
          claims[key] = "";
          batch.Delete(cfs_[kClaims], key).PermitUncheckedError();
        }
      }
      for (const auto& o : req.offsets) {
        batch.Put(cfs_[kDefault], OffsetKey(o), Fixed64Key(static_cast<uint64_t>(o.next_offset)))
            .PermitUncheckedError();
      }
      if (!req.idempotency_key.empty()) {
        staged_records.push_back(IdempotentRecord{req.request_fingerprint, result});
        idem[req.idempotency_key] = &staged_records.back();
        batch.Put(cfs_[kIdempotency], req.idempotency_key, EncodeIdempotent(staged_records.back()))
            .PermitUncheckedError();
      }
      w->result = std::move(result);
      staged.push_back(w);
    }

    if (staged.empty()) return;
    absl::Status written = guard_->Write(WriteOpts(), &batch, "appending events");
    if (!written.ok()) {
      // While the store cannot write, every command fails the same way and
      // the guard has said why: one line per 10 s is enough.
      if (guard_->Health().writable || refused_log_.Allow()) {
        log_.Error("append failed", {{"error", written.ToString()}});
      }
      for (Writer* w : staged) w->result = written;
      return;
    }
    last_position_.store(position, std::memory_order_release);
  }

  void NotifyListeners() {
    std::vector<std::function<void(GlobalPosition)>> listeners;
    {
      std::lock_guard lock(listeners_mu_);
      listeners = listeners_;
    }
    GlobalPosition last = LastPosition();
    for (auto& l : listeners) l(last);
  }

  Options options_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::unique_ptr<rocks::WriteGuard> guard_;  // every write goes through it
  std::atomic<uint64_t> last_position_{0};
  LatencyHistogram append_latency_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Writer*> queue_;
  bool leader_active_ = false;

  std::mutex listeners_mu_;
  std::vector<std::function<void(GlobalPosition)>> listeners_;
  Logger log_{"eventstore"};
  LogEvery refused_log_{std::chrono::seconds(10)};
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("event store path is empty");
  if (options.must_exist && !rocks::Exists(options.path)) {
    return absl::NotFoundError("no event store at " + options.path);
  }
  rocksdb::DBOptions db_options;
  // A new store gets every family; an existing one must have them all
  // (rocks::Open refuses one that lost a family instead of recreating it).
  db_options.create_if_missing = true;
  db_options.max_background_jobs = 2;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.paranoid_file_checks = options.paranoid_file_checks;
  if (options.write_buffer_bytes > 0) cf_options.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, cf_options);
  ASSIGN_OR_RETURN(rocks::Opened opened,
                   rocks::Open(db_options, options.path, descriptors, "event store"));
  auto store = std::make_unique<RocksEventStore>(options, std::move(opened));
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace threadline::eventstore
