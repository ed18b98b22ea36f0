#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/common/histogram.h"
#include "threadline/common/store_health.h"
#include "threadline/common/strong_type.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::eventstore {

struct Options {
  // Directory of the RocksDB database; created if missing.
  std::string path;
  // fsync the write-ahead log before an append is acknowledged. Appends that
  // arrive together share one fsync (group commit). Default: true. Turning it
  // off keeps data across a process crash (kill -9) but not a machine crash.
  bool sync = true;
  // Clock for recorded_at. Default: the real clock.
  const Clock* clock = nullptr;
  // Open only a store that exists: NOT_FOUND when `path` holds none, rather
  // than creating an empty one (tools that inspect a store). Default: false.
  bool must_exist = false;
  // Read every table file back after writing it (RocksDB's
  // paranoid_file_checks), so a flush or compaction that wrote a bad file
  // fails instead of replacing good data with it. A department store
  // flushes rarely, so it costs little (bench/run measures it). Default:
  // true.
  bool paranoid_file_checks = true;
  // Memtable size of each column family; 0: RocksDB's default (64 MiB).
  // Smaller means more flushes (benchmarks and tests that want them).
  uint64_t write_buffer_bytes = 0;
};

// A stored event with its place in the global sequence.
struct StoredEvent {
  GlobalPosition position;
  v1::EventEnvelope envelope;
};

// A (consumer, topic, partition) -> next offset to read, stored atomically
// with the events a consumer's reaction appended.
struct ConsumerOffset {
  std::string consumer;
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
};

// A value (a phone number, an e-mail) that at most one owner may hold in an
// index; appends that claim a value held by another owner fail with
// ALREADY_EXISTS naming the holder.
struct UniqueClaim {
  std::string index;  // "phone", "email"
  std::string value;
  std::string owner;  // e.g. the customer id
};

struct AppendRequest {
  // The aggregate's stream, e.g. "customer-cus_0190...".
  std::string stream;
  // Version the caller saw (0 = the stream must not exist yet). Unset: any.
  std::optional<StreamVersion> expected_version;
  // Events to append. The store fills version, recorded_at and
  // global_position; the caller fills everything else.
  std::vector<v1::EventEnvelope> events;
  // Idempotency: when set, a later append with the same key returns this
  // append's result (and the stored response) without appending anything.
  std::string idempotency_key;
  // Fingerprint of the request that produced the events; a replay with the
  // same key but another fingerprint is INVALID_ARGUMENT.
  std::string request_fingerprint;
  // Opaque bytes (the serialized gRPC response) returned to replays.
  std::string response;
  std::vector<UniqueClaim> claims;
  // Claims to drop (only when held by the given owner). Claims double as
  // secondary indexes: "open_ticket" -> ticket id, scanned by prefix.
  std::vector<UniqueClaim> releases;
  std::vector<ConsumerOffset> offsets;
  // The events come from this store's own topic (threadline store recover):
  // each keeps its recorded_at and its append_record, and its version must
  // continue the stream (FAILED_PRECONDITION otherwise). Otherwise the store
  // writes everything above into the last event's append_record, so that
  // the topic holds what a rebuilt store needs.
  bool restore = false;
};

// Index entries, consumer offsets and an idempotent answer written without
// events, so without a stream: support's indexes, billing's parked orders, a
// consumer's offsets. Same atomicity, claim rules and idempotency as an
// append; it never touches an aggregate.
struct StateWrite {
  std::vector<UniqueClaim> claims;
  std::vector<UniqueClaim> releases;
  std::vector<ConsumerOffset> offsets;
  // As in AppendRequest: a later write with the same key answers with this
  // write's result (and `response`) and writes nothing.
  std::string idempotency_key;
  std::string request_fingerprint;
  std::string response;
};

struct AppendResult {
  StreamVersion version;  // stream version after the append
  std::vector<std::string> event_ids;
  std::string response;   // the stored response (the first one, on replay)
  bool replayed = false;  // true: the idempotency key was already used
};

// The first answer recorded under an idempotency key.
struct IdempotentRecord {
  std::string request_fingerprint;
  AppendResult result;
};

// What EventStore::Verify found.
struct VerifyReport {
  uint64_t events = 0;         // entries in the global log
  uint64_t streams = 0;        // streams in the stream index
  uint64_t last_position = 0;  // the log's last position
  // What is wrong, one line each, the first kMaxProblems of them; empty when
  // the store is sound.
  std::vector<std::string> problems;
  uint64_t more_problems = 0;  // found beyond the first kMaxProblems
  static constexpr size_t kMaxProblems = 50;
  bool ok() const { return problems.empty(); }
};

// Event store on RocksDB: per-aggregate streams with optimistic concurrency,
// a gap-free global sequence (the outbox), idempotency keys, unique claims
// and consumer offsets, each append in one WriteBatch.
//
// Thread-safe. Concurrent appends are grouped into one write and one fsync
// (group commit) by whichever caller arrives first. Owns the database;
// destroy after every reader and the outbox relay have stopped.
class EventStore {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EventStore>> Open(const Options& options);
  virtual ~EventStore() = default;

  // Appends atomically. Errors: ABORTED when expected_version is stale;
  // ALREADY_EXISTS when a claim is held by another owner; INVALID_ARGUMENT
  // when the idempotency key was used for a different request; UNAVAILABLE
  // naming the store and the cause while it cannot write (a full disk),
  // until it has recovered by itself.
  [[nodiscard]] virtual absl::StatusOr<AppendResult> Append(AppendRequest request) = 0;

  // Writes claims, releases and offsets atomically, with no events. Errors as
  // Append (ALREADY_EXISTS for a held claim, INVALID_ARGUMENT for a reused
  // idempotency key); never ABORTED. Grouped with concurrent appends.
  [[nodiscard]] virtual absl::StatusOr<AppendResult> Write(StateWrite write) = 0;

  // The first answer for an idempotency key, if any.
  [[nodiscard]] virtual absl::StatusOr<std::optional<IdempotentRecord>> FindIdempotent(
      const std::string& key) = 0;

  // Events of `stream` with version > after, in order. max=0: all.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::EventEnvelope>> ReadStream(
      const std::string& stream, StreamVersion after = StreamVersion(0), size_t max = 0) = 0;

  // Current version of `stream` (0 if it has no events).
  [[nodiscard]] virtual absl::StatusOr<StreamVersion> StreamHead(const std::string& stream) = 0;

  // Events with position > after, in global order, at most `max`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<StoredEvent>> ReadAll(GlobalPosition after,
                                                                         size_t max) = 0;
  // Position of the last appended event (0 when empty).
  virtual GlobalPosition LastPosition() const = 0;

  // Who holds `value` in `index`, if anyone.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> FindClaim(
      const std::string& index, const std::string& value) = 0;
  // Every (value, owner) in `index` whose value starts with `prefix`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanClaims(
      const std::string& index, const std::string& prefix, size_t max) = 0;

  // Outbox cursor: every event up to this position is published.
  [[nodiscard]] virtual absl::StatusOr<GlobalPosition> OutboxCursor(const std::string& name) = 0;
  [[nodiscard]] virtual absl::Status SetOutboxCursor(const std::string& name,
                                                     GlobalPosition position) = 0;

  // Consumer offsets stored by Append(); 0 for partitions never consumed.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ConsumerOffset>> LoadOffsets(
      const std::string& consumer) = 0;

  // Registers a callback run (on the appending thread, outside locks) after
  // each committed append; the outbox relay uses it to wake up.
  virtual void OnAppend(std::function<void(GlobalPosition last)> listener) = 0;

  // A checksum over every key and value in the store, to prove that a
  // rejected request changed nothing.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> Checksum() = 0;

  // Reads the whole store: RocksDB's checksums of every table file, a global
  // log that runs gap-free from position 1 with every event decoding, and a
  // stream index that agrees with the log both ways (each stream's versions
  // run from 1 without a gap, each points at an event with that version, and
  // each event is in exactly one stream). Reads everything, so it takes as
  // long as a backup; for `threadline store verify`. What is wrong with the
  // data is in the report; the status is an error only when reading failed.
  [[nodiscard]] virtual absl::StatusOr<VerifyReport> Verify() = 0;

  // Latency of successful appends as their callers saw it (group-commit
  // wait and fsync included), for the metrics endpoint.
  virtual HistogramSnapshot AppendLatency() const { return {}; }

  // Whether the store accepts writes. After a failed write (a full disk) it
  // refuses appends with UNAVAILABLE until it has recovered by itself
  // (rocks::WriteGuard); reads go on. For readiness and metrics.
  virtual StoreHealth Health() const { return {}; }
};

}  // namespace threadline::eventstore
