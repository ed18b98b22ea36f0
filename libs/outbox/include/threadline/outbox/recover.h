#pragma once

// Rebuilding a department's event store from its own topic: the reverse of
// the relay. Every event a store acknowledged was published to its topic,
// and (since builds that write v1::AppendRecord) the last event of every
// append carries what else the append wrote: its idempotent answer, its
// claims and releases, and the consumer offsets of a reaction. So a store
// lost with its disk comes back with every published event, every answer a
// retry gets, every claim and every reaction's offsets.
//
// Not on the topic, so not restored: state written without events (support's
// caller directory and index clean-ups, billing's orders parked until their
// account exists, reactions that decided nothing and the offsets they
// stored). Reactors resume from the offsets of their last reaction with
// events and decide what followed again, idempotently.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"

namespace threadline::outbox {

struct RecoverOptions {
  // The department's topic, e.g. "threadline.sales.v1".
  std::string topic;
  // The store to create; must not hold a store (or anything) yet.
  std::string path;
  // Scratch space for sorting the topic by global position; removed at the
  // end. Default: `path` + ".recover-scratch".
  std::string scratch;
  // The store's outbox cursor name (outbox::RelayOptions::cursor_name),
  // set to the last restored event: everything restored is on the topic
  // already. Default: "bus".
  std::string cursor_name = "bus";
  // Progress, phase "read" then "restore", (done, total).
  std::function<void(const char* phase, uint64_t done, uint64_t total)> progress;
};

struct RecoverReport {
  uint64_t messages = 0;       // read from the topic
  uint64_t duplicates = 0;     // re-published copies, dropped
  uint64_t unreadable = 0;     // not an envelope of this store: skipped, and counted
  uint64_t events = 0;         // restored
  uint64_t appends = 0;        // appends they were restored in
  uint64_t records = 0;        // of those, with an AppendRecord (answers, claims, offsets)
  uint64_t last_position = 0;  // the highest global position on the topic
  // Positions below last_position that no message holds (lost from the
  // topic: retention, or published by no one); the restored store numbers
  // its log without gaps, so its positions shift past each.
  uint64_t missing_positions = 0;
};

// Reads `options.topic` from its start to the end offsets seen at the call,
// orders its envelopes by their global position, and appends them, append
// by append, to a new store at `options.path`. FAILED_PRECONDITION when
// `path` is not empty or the topic's events do not continue their streams
// (the topic is not this store's).
absl::StatusOr<RecoverReport> RecoverStore(bus::Bus& bus, const RecoverOptions& options);

}  // namespace threadline::outbox
