#pragma once

// What the fault tests (tests/faults_kafkatest.cc on one broker,
// tests/cluster_faults_kafkatest.cc on a three-node cluster) share besides
// the load (tests/faults_load.h): the six services, one process each, and
// the checks once the load has stopped (CheckAfterLoad): nothing
// acknowledged lost or doubled, nothing unacknowledged half-applied, and
// the live journey equal to a rebuild.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "faults_load.h"

namespace threadline::testing::faults {

// The environment variable `name` as a number >= 0, or `fallback`.
int EnvInt(const char* name, int fallback);

// The load's bounds from THREADLINE_FAULTS_COMMANDS, THREADLINE_FAULTS_SECONDS
// and THREADLINE_FAULTS_RATE (at least 4 commands/s), else `defaults`.
Bounds BoundsFromEnv(const Bounds& defaults);

std::string Topic(const std::string& department);

class Stopwatch {
 public:
  double Seconds() const { return std::chrono::duration<double>(Steady::now() - start_).count(); }
  void Note(const std::string& what) const {
    std::cout << "[" << std::fixed << std::setprecision(1) << Seconds() << "s] " << what
              << std::endl;
  }

 private:
  Steady::time_point start_ = Steady::now();
};

// scripts/kafka (THREADLINE_KAFKA_SCRIPT) with `args`, its output on
// stderr; quote the arguments with Quote. Returns its exit status.
int RunKafkaScript(const std::string& args);
std::string Quote(const std::string& s);

// The first line of `path` (scripts/kafka writes a bootstrap list there).
std::string FirstLine(const std::filesystem::path& path);

// A broker of a test's own (scripts/kafka), so that stopping it disturbs
// no other test, and its topics hold that test's messages only. Stopped on
// destruction.
class PrivateBroker {
 public:
  explicit PrivateBroker(std::string dir) : dir_(std::move(dir)) {}
  ~PrivateBroker() {
    if (started_) Stop();
  }
  // `start` on a directory that holds a broker restarts it on its ports.
  bool Start(bool fresh) {
    const bool ok =
        RunKafkaScript(std::string("start ") + (fresh ? "--fresh " : "") + Quote(dir_)) == 0;
    started_ = started_ || ok;
    return ok;
  }
  bool Stop() { return RunKafkaScript("stop " + Quote(dir_)) == 0; }
  std::string Bootstrap() const { return FirstLine(dir_ + "/bootstrap"); }

 private:
  std::string dir_;
  bool started_ = false;
};

// On failure, keeps the run's logs and stores (the temp dir goes away) in
// the working directory, as faults-failure-<pid>.
struct KeepOnFailure {
  std::filesystem::path from;
  ~KeepOnFailure();
};

// The whole timeline of `customer`, every page. A customer the journey does
// not know yet has an empty one. False when a call failed.
bool FetchTimeline(const std::shared_ptr<grpc::Channel>& channel, const std::string& customer,
                   std::vector<v1::TimelineEntry>* out);

// Waits for acknowledged commands to show on their customers' timelines:
// their events, or the MissedCallLinked of a call from a number support did
// not know yet. Customers once complete are not asked again.
class TimelineWatch {
 public:
  explicit TimelineWatch(const std::vector<Command>& commands);
  bool Done(const std::shared_ptr<grpc::Channel>& journey);
  // How many of the expected entries the journey shows now.
  size_t Present(const std::shared_ptr<grpc::Channel>& journey) const;
  size_t size() const { return want_.size(); }
  const std::string& missing() const { return missing_; }

 private:
  struct Want {
    std::set<std::string> event_ids;
    std::set<std::string> linked_callbacks;
  };
  // (expected events, expected linked calls) among `entries`.
  static std::pair<size_t, size_t> Found(const std::vector<v1::TimelineEntry>& entries,
                                         const Want& want);
  std::map<std::string, Want> want_;
  std::set<std::string> done_;
  std::string missing_;
};

// Privacy (the key vault every other process seals with), the four
// departments and the journey (with its metrics endpoint), each in its own
// process under `dir` on the Kafka bootstrap list `brokers`. A service that
// does not become SERVING is a test failure (check HasFailure()).
class Services {
 public:
  Services(const std::filesystem::path& dir, const std::string& brokers);

  // Adds what the journey's current life dropped as duplicates to
  // live_duplicates; call before the journey is killed (the count starts
  // again with the process).
  void CountJourneyDuplicates();

  // The services whose readiness (gRPC health of the service, as
  // Kubernetes asks it) is not SERVING now, e.g. "sales journey"; empty
  // when all six are ready.
  std::string NotReady();

  const std::filesystem::path dir;
  const std::string brokers;
  std::unique_ptr<SuiteProcess> privacy;
  std::map<std::string, std::unique_ptr<Dept>> depts;
  std::map<std::string, Dept*> dept_ptrs;  // for Load
  const int metrics_port;
  const std::string journey_dir;
  std::unique_ptr<SuiteProcess> journey;
  std::shared_ptr<grpc::Channel> journey_channel;
  uint64_t live_duplicates = 0;  // summed over the journey's lives
};

// What CheckAfterLoad counted.
struct Tally {
  int issued = 0, acked = 0, rejected = 0, abandoned = 0, abandoned_applied = 0, retried = 0,
      replayed = 0, during_outage = 0, meant_invalid = 0;
  std::map<std::string, int> rejected_codes;  // by gRPC code
  size_t events = 0;                          // distinct, in Kafka
  uint64_t kafka_messages = 0, kafka_duplicates = 0, live_duplicates = 0;
  int64_t rebuild_duplicates = -1;
  size_t timeline_entries = 0, customers = 0;
};

// After the load stopped (`commands` is what it issued): waits until every
// acknowledged command is on the journey and every reaction in Kafka, then
// checks that
//   - every acknowledged command answers its first answer again and has its
//     events in Kafka, exactly once in its department's store (a retry
//     appended nothing) and exactly one entry on the right customer's
//     timeline;
//   - nothing unacknowledged is half-applied: a rejected command left no
//     event; an abandoned one (the client gave up while the service was
//     gone) left none or all of them - in its store, in Kafka, on the
//     timeline and in the other departments' reactions;
//   - every store equals its Kafka topic, every event with a customer is on
//     that customer's timeline once, and the live journey equals a rebuild
//     from scratch (threadline journey rebuild / fingerprint).
// Stops the departments and the journey (SIGTERM, exit 0) on the way; notes
// on `watch` when settled. Call it with ASSERT_NO_FATAL_FAILURE.
void CheckAfterLoad(Services& services, const std::vector<Command>& commands,
                    const Stopwatch& watch, Tally* tally);

// The counts as "faults: ..." lines; `outage` names what `during_outage`
// counted ("the broker outage").
void PrintTally(const Tally& tally, const std::string& outage);

}  // namespace threadline::testing::faults
