#include "threadline/outbox/recover.h"

#include <rocksdb/db.h>

#include <filesystem>
#include <map>
#include <memory>

#include "threadline/common/coding.h"
#include "threadline/common/status.h"
#include "threadline/domain/envelope_check.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/rocks/rocks.h"

namespace threadline::outbox {
namespace {

namespace fs = std::filesystem;

// Phase 1: the topic, from its start to the end offsets seen now, into
// `scratch` keyed by global position (a copy re-published after a failed
// delivery lands on the same key).
absl::Status ReadTopic(bus::Bus& bus, const RecoverOptions& o, rocksdb::DB& scratch,
                       rocks::WriteGuard& guard, RecoverReport& report) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ends, bus.EndOffsets(o.topic));
  uint64_t total = 0;
  std::vector<bus::PartitionStart> starts;
  std::map<int32_t, int64_t> next;  // partition -> next offset wanted, until its end
  for (size_t p = 0; p < ends.size(); ++p) {
    const auto partition = static_cast<int32_t>(p);
    starts.push_back({{o.topic, partition}, 0});
    if (ends[p] > 0) next[partition] = 0;
    total += static_cast<uint64_t>(ends[p]);
  }
  ASSIGN_OR_RETURN(auto consumer, bus.NewConsumer());
  RETURN_IF_ERROR(consumer->Assign(starts));
  std::string existing;
  while (!next.empty()) {
    ASSIGN_OR_RETURN(auto batch, consumer->Poll(1000, std::chrono::seconds(1)));
    rocksdb::WriteBatch wb;
    std::map<uint64_t, std::string> in_batch;  // staged in `wb` (Get does not see it): event ids
    for (const auto& m : batch) {
      auto it = next.find(m.partition);
      if (it == next.end() || m.offset >= ends[static_cast<size_t>(m.partition)]) continue;
      it->second = m.offset + 1;
      if (it->second >= ends[static_cast<size_t>(m.partition)]) next.erase(it);
      ++report.messages;
      v1::EventEnvelope e;
      if (!domain::CheckEnvelopeSize(m.value.size()).ok() || !e.ParseFromString(m.value) ||
          e.event_id().empty() || e.global_position() == 0 || e.aggregate_type().empty() ||
          e.aggregate_id().empty() || e.version() == 0) {
        ++report.unreadable;
        continue;
      }
      const std::string key = coding::Fixed64Key(e.global_position());
      std::string held;  // the event id already at this position, if any
      if (auto b = in_batch.find(e.global_position()); b != in_batch.end()) {
        held = b->second;
      } else {
        rocksdb::Status got = scratch.Get(rocksdb::ReadOptions(), key, &existing);
        if (!got.ok() && !got.IsNotFound()) {
          return rocks::FromRocks(got, "reading the recovery scratch");
        }
        v1::EventEnvelope prior;
        if (got.ok() && prior.ParseFromString(existing)) held = prior.event_id();
      }
      if (!held.empty()) {
        if (held != e.event_id()) {
          return absl::FailedPreconditionError(
              o.topic + " holds two events at global position " +
              std::to_string(e.global_position()) + " (" + held + " and " + e.event_id() +
              "): it carries more than one store's events, and no one store can be rebuilt "
              "from it");
        }
        ++report.duplicates;
        continue;
      }
      in_batch[e.global_position()] = e.event_id();
      wb.Put(key, m.value).PermitUncheckedError();
      report.last_position = std::max(report.last_position, e.global_position());
    }
    if (wb.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.disableWAL = true;  // scratch: a failed recovery starts again
      RETURN_IF_ERROR(guard.Write(wo, &wb, "writing the recovery scratch"));
    }
    if (o.progress) o.progress("read", report.messages, total);
  }
  return absl::OkStatus();
}

// One append of the original store: consecutive events of one stream, the
// last of which carries the append's record (events of builds before
// AppendRecord have none; consecutive ones of a stream are restored as one
// append, which changes nothing they can be asked about).
struct Pending {
  std::string stream;
  std::vector<v1::EventEnvelope> events;
};

absl::Status Flush(eventstore::EventStore& store, Pending& p, RecoverReport& report) {
  if (p.events.empty()) return absl::OkStatus();
  eventstore::AppendRequest r;
  r.stream = p.stream;
  r.restore = true;
  const v1::EventEnvelope& last = p.events.back();
  if (last.has_append_record()) {
    const v1::AppendRecord& rec = last.append_record();
    ++report.records;
    r.idempotency_key = rec.idempotency_key();
    r.request_fingerprint = rec.request_fingerprint();
    r.response = rec.response();
    for (const auto& c : rec.claims()) r.claims.push_back({c.index(), c.value(), c.owner()});
    for (const auto& c : rec.releases()) r.releases.push_back({c.index(), c.value(), c.owner()});
    for (const auto& o : rec.offsets()) {
      r.offsets.push_back({o.consumer(), o.topic(), o.partition(), o.next_offset()});
    }
  }
  const size_t n = p.events.size();
  const std::string key = r.idempotency_key;
  r.events = std::move(p.events);
  p.events.clear();
  ASSIGN_OR_RETURN(eventstore::AppendResult result, store.Append(std::move(r)));
  if (result.replayed) {
    return absl::DataLossError("stream " + p.stream + ": idempotency key '" + key +
                               "' answers two appends on the topic");
  }
  report.events += n;
  ++report.appends;
  return absl::OkStatus();
}

// Phase 2: the scratch in global order into the new store.
absl::Status Restore(const RecoverOptions& o, rocksdb::DB& scratch, RecoverReport& report) {
  eventstore::Options so;
  so.path = o.path;
  so.sync = false;  // an interrupted recovery is run again into a fresh directory
  ASSIGN_OR_RETURN(auto store, eventstore::EventStore::Open(so));
  uint64_t distinct = 0;
  Pending pending;
  std::unique_ptr<rocksdb::Iterator> it(scratch.NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++distinct;
    v1::EventEnvelope e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("the recovery scratch holds an envelope that does not decode");
    }
    std::string stream = e.aggregate_type() + "-" + e.aggregate_id();
    if (stream != pending.stream) {
      RETURN_IF_ERROR(Flush(*store, pending, report));
      pending.stream = std::move(stream);
    }
    const bool ends_append = e.has_append_record();
    pending.events.push_back(std::move(e));
    if (ends_append) RETURN_IF_ERROR(Flush(*store, pending, report));
    if (o.progress && distinct % 10000 == 0) o.progress("restore", distinct, report.last_position);
  }
  RETURN_IF_ERROR(rocks::FromRocks(it->status(), "reading the recovery scratch"));
  RETURN_IF_ERROR(Flush(*store, pending, report));
  report.missing_positions = report.last_position - distinct;
  RETURN_IF_ERROR(store->SetOutboxCursor(o.cursor_name, store->LastPosition()));
  if (o.progress) o.progress("restore", distinct, distinct);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecoverReport> RecoverStore(bus::Bus& bus, const RecoverOptions& options) {
  RecoverOptions o = options;
  if (o.topic.empty() || o.path.empty()) {
    return absl::InvalidArgumentError("recovery needs a topic and a store path");
  }
  std::error_code ec;
  if (fs::exists(o.path, ec) && !fs::is_empty(o.path, ec)) {
    return absl::FailedPreconditionError("recovery target " + o.path +
                                         " is not empty; recover into a fresh directory (move "
                                         "the damaged store aside first)");
  }
  if (o.scratch.empty()) o.scratch = o.path + ".recover-scratch";
  fs::remove_all(o.scratch, ec);
  RecoverReport report;
  {
    rocksdb::Options ro;
    ro.create_if_missing = true;
    ASSIGN_OR_RETURN(rocks::Opened scratch, rocks::Open(ro, o.scratch, "recovery scratch"));
    absl::Status s = ReadTopic(bus, o, *scratch.db, *scratch.guard, report);
    if (s.ok()) s = Restore(o, *scratch.db, report);
    scratch.guard->Stop();
    scratch.guard.reset();
    scratch.db.reset();
    RETURN_IF_ERROR(s);
  }
  fs::remove_all(o.scratch, ec);
  return report;
}

}  // namespace threadline::outbox
