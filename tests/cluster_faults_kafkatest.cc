// Cluster fault test (labels faults, kafka): every service in its own
// process on a private Kafka cluster of three KRaft nodes on loopback
// (scripts/kafka start-cluster; each node broker and controller, modest
// heaps). Threadline creates its topics with the brokers' defaults, which
// there are replication factor 3 and min.insync.replicas 2; the test checks
// that the department topics got them. A steady, bounded load of commands
// runs across sales, installation, support and billing (tests/faults_load.h)
// while, once per round,
//   - the node that leads most department partitions (found from the
//     cluster's metadata) is SIGKILLed: no controlled shutdown, no leader
//     handed over;
//   - the test waits until every department partition has a leader on the
//     other two nodes and the killed one is out of every ISR, until the load
//     has gone on, until everything acknowledged since the kill is on the
//     journey (the events went through the two remaining nodes), and until
//     every service is ready (gRPC health) with the node still down;
//   - the node is started again and the test waits until it is back in the
//     ISR of every department partition.
// Then the load stops and the same checks as in faults_kafkatest run
// (CheckAfterLoad, tests/faults_checks.h): every acknowledged command
// exactly once in Kafka, in its store and on the timeline, nothing
// unacknowledged half-applied, the live journey equal to a rebuild. On top
// of those: no event is in Kafka twice (the idempotent producer with
// acks=all rides out a leader change without duplicates).
//
// Bounds, from the environment (small defaults for CI; scripts/soak raises
// them):
//   THREADLINE_FAULTS_COMMANDS  most commands issued               (3000)
//   THREADLINE_FAULTS_SECONDS   longest load, seconds              (120)
//   THREADLINE_FAULTS_RATE      commands/s over all services       (24)
//   THREADLINE_FAULTS_ROUNDS    leader SIGKILLs, one after another (1)

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "faults_checks.h"

namespace threadline::testing::faults {
namespace {

constexpr int kNodes = 3;
constexpr int kReplicas = 3;
constexpr int kMinInSync = 2;

// A cluster of this test's own (scripts/kafka start-cluster); nodes are
// numbered 1..kNodes and node i has node.id i. Stopped on destruction.
class PrivateCluster {
 public:
  explicit PrivateCluster(std::string dir) : dir_(std::move(dir)) {}
  ~PrivateCluster() {
    if (started_) RunKafkaScript("stop-cluster " + Quote(dir_));
  }
  bool Start() {
    started_ =
        RunKafkaScript("start-cluster --fresh " + Quote(dir_) + " " + std::to_string(kNodes)) == 0;
    return started_;
  }
  bool KillNode(int32_t id) { return RunKafkaScript("kill-node " + Node(id)) == 0; }
  bool StartNode(int32_t id) { return RunKafkaScript("start-node " + Node(id)) == 0; }
  std::string Bootstrap() const { return FirstLine(dir_ + "/bootstrap"); }

 private:
  std::string Node(int32_t id) const { return Quote(dir_) + " " + std::to_string(id); }
  std::string dir_;
  bool started_ = false;
};

// One partition as the cluster's metadata shows it.
struct PartitionState {
  std::string topic;
  int32_t partition = -1;
  int32_t leader = -1;  // -1: none
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

bool Has(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::string Describe(const std::vector<PartitionState>& partitions) {
  std::ostringstream out;
  for (const auto& p : partitions) {
    out << "\n  " << p.topic << "/" << p.partition << " leader " << p.leader << " isr";
    for (int32_t id : p.isr) out << " " << id;
  }
  return out.str();
}

// What librdkafka's metadata and admin requests say of the cluster: a
// client of the brokers, not of Threadline's bus.
class ClusterView {
 public:
  explicit ClusterView(const std::string& brokers) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] :
         std::map<std::string, std::string>{{"bootstrap.servers", brokers},
                                            {"client.id", "faults-cluster"},
                                            {"reconnect.backoff.ms", "100"},
                                            {"reconnect.backoff.max.ms", "500"},
                                            {"log_level", "3"}}) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        ADD_FAILURE() << k << ": " << err;
      }
    }
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      ADD_FAILURE() << "rd_kafka_new: " << err;
    }
  }
  ~ClusterView() {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  ClusterView(const ClusterView&) = delete;
  ClusterView& operator=(const ClusterView&) = delete;

  // The partitions of `topics`; an error when the metadata request fails
  // or a topic is missing.
  absl::StatusOr<std::vector<PartitionState>> Partitions(const std::vector<std::string>& topics) {
    if (rk_ == nullptr) return absl::FailedPreconditionError("no client");
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 1, nullptr, &md, 5000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(std::string("metadata: ") + rd_kafka_err2str(e));
    }
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> hold(
        md, rd_kafka_metadata_destroy);
    std::vector<PartitionState> out;
    for (const auto& name : topics) {
      const rd_kafka_metadata_topic_t* topic = nullptr;
      for (int t = 0; t < md->topic_cnt; ++t) {
        if (name == md->topics[t].topic) topic = &md->topics[t];
      }
      if (topic == nullptr || topic->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
          topic->partition_cnt == 0) {
        return absl::NotFoundError(
            name + ": " +
            (topic == nullptr ? "not in the metadata" : rd_kafka_err2str(topic->err)));
      }
      for (int p = 0; p < topic->partition_cnt; ++p) {
        const rd_kafka_metadata_partition_t& mp = topic->partitions[p];
        PartitionState s;
        s.topic = name;
        s.partition = mp.id;
        s.leader = mp.leader;
        s.replicas.assign(mp.replicas, mp.replicas + mp.replica_cnt);
        s.isr.assign(mp.isrs, mp.isrs + mp.isr_cnt);
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  // Whether `holds` is true of every partition of `topics` now; `seen` gets
  // what the metadata showed, or why there was none.
  bool Every(const std::vector<std::string>& topics,
             const std::function<bool(const PartitionState&)>& holds, std::string* seen,
             std::vector<PartitionState>* partitions = nullptr) {
    auto got = Partitions(topics);
    if (!got.ok()) {
      *seen = got.status().ToString();
      return false;
    }
    *seen = Describe(*got);
    const bool all = std::all_of(got->begin(), got->end(), holds);
    if (partitions != nullptr) *partitions = *std::move(got);
    return all;
  }

  // The value of the configuration entry `name` of `topic` (what the topic
  // has in effect, whether set on it or a broker default).
  absl::StatusOr<std::string> TopicConfig(const std::string& topic, const std::string& name) {
    if (rk_ == nullptr) return absl::FailedPreconditionError("no client");
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_DescribeConfigs(rk_, &resource, 1, nullptr, queue);
    rd_kafka_ConfigResource_destroy(resource);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 15000);
    absl::StatusOr<std::string> value = absl::DeadlineExceededError("DescribeConfigs: no answer");
    if (ev != nullptr) {
      if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        value = absl::UnavailableError(std::string("DescribeConfigs: ") +
                                       rd_kafka_event_error_string(ev));
      } else {
        value = absl::NotFoundError(topic + " has no " + name);
        size_t n = 0;
        const rd_kafka_ConfigResource_t** got = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        for (size_t r = 0; r < n; ++r) {
          size_t entries = 0;
          const rd_kafka_ConfigEntry_t** configs =
              rd_kafka_ConfigResource_configs(got[r], &entries);
          for (size_t c = 0; c < entries; ++c) {
            const char* v = rd_kafka_ConfigEntry_value(configs[c]);
            if (name == rd_kafka_ConfigEntry_name(configs[c]) && v != nullptr) value = v;
          }
        }
      }
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(queue);
    return value;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
};

std::vector<std::string> DepartmentTopics() {
  std::vector<std::string> topics;
  for (const auto& d : kDepartments) topics.push_back(Topic(d));
  return topics;
}

// The node that leads most of `partitions` (the lowest id among equals),
// and how many it leads.
std::pair<int32_t, int> BusiestLeader(const std::vector<PartitionState>& partitions) {
  std::map<int32_t, int> led;
  for (const auto& p : partitions) ++led[p.leader];
  std::pair<int32_t, int> busiest{-1, 0};
  for (const auto& [id, n] : led) {
    if (id >= 0 && n > busiest.second) busiest = {id, n};
  }
  return busiest;
}

double SecondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

std::string Fixed(double seconds) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << seconds;
  return out.str();
}

TEST(ClusterFaults, SigkillOfTheBusiestLeaderUnderLoadLosesNothingDoublesNothing) {
  ASSERT_NE(std::getenv("THREADLINE_KAFKA_SCRIPT"), nullptr)
      << "run through ctest -L faults (needs THREADLINE_KAFKA_SCRIPT)";
  const Bounds bounds = BoundsFromEnv({.commands = 3000, .seconds = 120, .rate = 24});
  const int rounds = std::max(1, EnvInt("THREADLINE_FAULTS_ROUNDS", 1));
  Stopwatch watch;

  TempDir dir;
  KeepOnFailure keep{dir.path()};
  PrivateCluster cluster((dir.path() / "kafka").string());
  ASSERT_TRUE(cluster.Start());
  const std::string brokers = cluster.Bootstrap();
  ASSERT_EQ(std::count(brokers.begin(), brokers.end(), ',') + 1, kNodes) << brokers;
  watch.Note("private cluster of " + std::to_string(kNodes) + " nodes on " + brokers);

  Services services(dir.path(), brokers);
  ASSERT_FALSE(HasFailure()) << "the services did not start";
  watch.Note("six services up, one process each");

  // The department topics as the services created them: every partition on
  // every node and in sync, at least two replicas needed for a write.
  ClusterView view(brokers);
  const std::vector<std::string> topics = DepartmentTopics();
  std::vector<PartitionState> partitions;
  std::string why;
  const auto in_sync = [](const PartitionState& p) {
    return p.leader >= 0 && p.isr.size() == static_cast<size_t>(kReplicas);
  };
  ASSERT_TRUE(WaitFor([&] { return view.Every(topics, in_sync, &why, &partitions); },
                      std::chrono::seconds(60)))
      << "the department partitions are not all fully in sync: " << why;
  for (const auto& p : partitions) {
    EXPECT_EQ(p.replicas.size(), static_cast<size_t>(kReplicas)) << p.topic << "/" << p.partition;
  }
  for (const auto& topic : topics) {
    auto min_isr = view.TopicConfig(topic, "min.insync.replicas");
    ASSERT_OK(min_isr) << topic;
    EXPECT_EQ(*min_isr, std::to_string(kMinInSync)) << topic;
  }

  // --- Load, and a leader's SIGKILL while it runs -------------------------
  Load load(bounds, services.dept_ptrs);
  load.Start();
  std::vector<std::string> figures;
  for (int round = 0; round < rounds; ++round) {
    ASSERT_TRUE(load.Flowing(40)) << kBoundsHint;
    auto before = view.Partitions(topics);
    ASSERT_OK(before);
    const auto [victim, led] = BusiestLeader(*before);
    ASSERT_GE(victim, 1) << Describe(*before);
    watch.Note("SIGKILL node " + std::to_string(victim) + ", leader of " + std::to_string(led) +
               " of " + std::to_string(before->size()) +
               " department partitions (acknowledged so far: " + std::to_string(load.Acked()) +
               ")");
    const size_t first_after_kill = load.Commands().size();
    load.SetOutage(true);
    const auto killed_at = Steady::now();
    ASSERT_TRUE(cluster.KillNode(victim));

    // Leadership moves: every department partition is led by a node that
    // runs, and the killed one is out of every ISR, which keeps the two
    // replicas a write needs.
    const auto moved_off = [&](const PartitionState& p) {
      return p.leader >= 0 && p.leader != victim && !Has(p.isr, victim) &&
             p.isr.size() >= static_cast<size_t>(kMinInSync);
    };
    // Meanwhile, which services said they were not ready (a partition
    // whose leader is gone does not answer): shown, not a failure.
    std::set<std::string> unready;
    ASSERT_TRUE(WaitFor(
        [&] {
          std::istringstream names(services.NotReady());
          for (std::string name; names >> name;) unready.insert(name);
          return view.Every(topics, moved_off, &why);
        },
        std::chrono::seconds(60)))
        << "leadership did not move off node " << victim << ": " << why;
    const double moved_s = SecondsSince(killed_at);
    std::string unready_list;
    for (const auto& name : unready) unready_list += " " + name;
    watch.Note("every department partition led by the other nodes " + Fixed(moved_s) +
               " s after the SIGKILL; not ready meanwhile:" +
               (unready.empty() ? std::string(" none") : unready_list));

    // The load goes on, and what was acknowledged since the kill reaches
    // the journey through the two remaining nodes.
    ASSERT_TRUE(load.Flowing(20)) << kBoundsHint << "\nafter node " << victim << " was killed";
    std::vector<Command> since = load.Commands();
    since.erase(since.begin(), since.begin() + static_cast<std::ptrdiff_t>(first_after_kill));
    TimelineWatch reached(since);
    ASSERT_TRUE(
        WaitFor([&] { return reached.Done(services.journey_channel); }, std::chrono::seconds(90)))
        << "acknowledged since node " << victim
        << " was killed, not on the journey: " << reached.missing();
    const double recovered_s = SecondsSince(killed_at);
    watch.Note("everything acknowledged since the SIGKILL (" + std::to_string(since.size()) +
               " commands) on the journey " + Fixed(recovered_s) + " s after it");
    // Two nodes are a working cluster: every service is ready (again, if
    // the dead leader made it look unreachable), with no restart.
    std::string not_ready;
    ASSERT_TRUE(WaitFor(
        [&] {
          not_ready = services.NotReady();
          return not_ready.empty();
        },
        std::chrono::seconds(60)))
        << "not ready with node " << victim << " down: " << not_ready;
    const double ready_s = SecondsSince(killed_at);

    // The node comes back and catches up: in the ISR of every partition.
    const auto restarted_at = Steady::now();
    ASSERT_TRUE(cluster.StartNode(victim));
    load.SetOutage(false);
    const auto rejoined = [&](const PartitionState& p) { return Has(p.isr, victim); };
    ASSERT_TRUE(
        WaitFor([&] { return view.Every(topics, rejoined, &why); }, std::chrono::seconds(120)))
        << "node " << victim << " did not rejoin every ISR: " << why;
    const double rejoined_s = SecondsSince(restarted_at);
    watch.Note("node " + std::to_string(victim) + " back in every ISR " + Fixed(rejoined_s) +
               " s after its start began");
    ASSERT_TRUE(load.Flowing(20)) << kBoundsHint << "\nafter node " << victim << " came back";
    figures.push_back("node " + std::to_string(victim) + " (led " + std::to_string(led) + " of " +
                      std::to_string(before->size()) + " department partitions): leaders moved " +
                      Fixed(moved_s) + " s, acknowledged since the kill on the journey " +
                      Fixed(recovered_s) + " s after it, not ready meanwhile:" +
                      (unready.empty() ? std::string(" none") : unready_list) +
                      ", every service ready " + Fixed(ready_s) +
                      " s after it, back in every ISR " + Fixed(rejoined_s) +
                      " s after its restart");
  }
  load.Stop();
  const std::vector<Command> commands = load.Commands();
  watch.Note("load stopped: " + std::to_string(commands.size()) + " commands issued");

  Tally tally;
  ASSERT_NO_FATAL_FAILURE(CheckAfterLoad(services, commands, watch, &tally));
  // No department restarted, so no outbox published anything twice; and the
  // producer's retries across the leader change appended no copy.
  EXPECT_EQ(tally.kafka_duplicates, 0u) << "events in Kafka twice after a leader change";
  PrintTally(tally, "a node's absence");
  for (const auto& f : figures) std::cout << "faults: leader killed: " << f << "\n";
  std::cout << "faults: cluster of " << kNodes << " nodes, replication " << kReplicas
            << ", min.insync.replicas " << kMinInSync << ", total " << Fixed(watch.Seconds())
            << " s" << std::endl;
}

}  // namespace
}  // namespace threadline::testing::faults
