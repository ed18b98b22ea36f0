// The Kafka bus on librdkafka's C API. The C API rather than rdkafka++
// because its per-message opaque and queue calls (yield, consumer queue)
// are what Wake() and exactly-once delivery callbacks are built on.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "threadline/bus/bus.h"
#include "threadline/bus/kafka.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"

namespace threadline::bus {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const Logger& Log() {
  // Never destroyed: librdkafka threads may still log during static destruction.
  static const Logger* log = new Logger("bus.kafka");
  return *log;
}

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

int TimeoutMs(milliseconds d) {
  return static_cast<int>(std::clamp<int64_t>(d.count(), 0, 24 * 3600 * 1000));
}

// Failures that go away by themselves (broker restarting, leader moving,
// network blip): the caller retries. Everything else needs a person.
bool IsTransient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    // Purged when a publisher closed before delivery: publish again later.
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

// Maps a librdkafka error to a status whose code says whether to retry
// (UNAVAILABLE) or to fix something (the rest), and whose message says what.
absl::Status ToStatus(rd_kafka_resp_err_t err, const std::string& what,
                      const std::string& detail = "") {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  std::string msg = what + ": " + rd_kafka_err2name(err) + " (" +
                    (detail.empty() ? rd_kafka_err2str(err) : detail) + ")";
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::NotFoundError(msg + "; create the topic first (Bus::EnsureTopics)");
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return absl::PermissionDeniedError(msg + "; grant this client's principal access (ACLs)");
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
      return absl::UnauthenticatedError(
          msg + "; check security.protocol, sasl.* and ssl.* in KafkaOptions::extra");
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return absl::InvalidArgumentError(msg);
    case RD_KAFKA_RESP_ERR__FATAL:
      return absl::FailedPreconditionError(
          msg + "; the producer is unusable: destroy it and create a new one");
    default:
      break;
  }
  if (IsTransient(err)) {
    return absl::UnavailableError(msg + "; the cluster is unreachable or busy, retry later");
  }
  return absl::InternalError(msg);
}

// librdkafka's own log lines (syslog levels) go to our logger. Called from
// librdkafka's threads; Logger is thread-safe.
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  LogLevel l = level <= 3   ? LogLevel::kError
               : level == 4 ? LogLevel::kWarn
               : level <= 6 ? LogLevel::kInfo
                            : LogLevel::kDebug;
  // Lost connections ("FAIL", "ERROR": broker restarting, all brokers down)
  // are retried by librdkafka and surface as UNAVAILABLE where they matter:
  // a warning, not an error that pages someone.
  const std::string_view fac = facility;
  if (l == LogLevel::kError && (fac == "FAIL" || fac == "ERROR")) l = LogLevel::kWarn;
  Log().Log(l, message, {{"client", rd_kafka_name(rk)}, {"facility", facility}});
}

absl::Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError("Kafka setting " + key + "=" + value + ": " + errstr);
  }
  return absl::OkStatus();
}

// Settings every handle shares, then the role's, then the caller's extras
// (last, so they win).
absl::StatusOr<Conf> MakeConf(const KafkaOptions& options, const std::string& client_id,
                              const std::vector<std::pair<std::string, std::string>>& role) {
  Conf conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> common = {
      {"bootstrap.servers", options.brokers},
      {"client.id", client_id},
      // Topics are created on purpose (EnsureTopics), never by a typo.
      {"allow.auto.create.topics", "false"},
      // Notice a restarted broker within a second instead of up to 10 s.
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "1000"},
      {"log.connection.close", "false"},
  };
  for (const auto& [k, v] : common) RETURN_IF_ERROR(Set(conf.get(), k, v));
  for (const auto& [k, v] : role) RETURN_IF_ERROR(Set(conf.get(), k, v));
  for (const auto& [k, v] : options.extra) RETURN_IF_ERROR(Set(conf.get(), k, v));
  rd_kafka_conf_set_log_cb(conf.get(), &LogCallback);
  return conf;
}

absl::StatusOr<Handle> NewHandle(rd_kafka_type_t type, Conf conf) {
  char errstr[512];
  // rd_kafka_new owns conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(std::string("cannot create Kafka client: ") + errstr);
  }
  conf.release();
  return Handle(rk);
}

struct TopicState {
  absl::Status status;
  int32_t partitions = 0;
  bool all_leaders = false;
};

// One metadata request for `topic`.
TopicState DescribeTopic(rd_kafka_t* rk, const std::string& topic, milliseconds timeout) {
  TopicState state;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    state.status = ToStatus(rd_kafka_last_error(), "topic " + topic);
    return state;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, TimeoutMs(timeout));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    state.status = ToStatus(err, "metadata for topic " + topic);
    return state;
  }
  state.status = absl::NotFoundError("topic " + topic +
                                     " is missing from the metadata; create it first "
                                     "(Bus::EnsureTopics)");
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    state.status = ToStatus(t.err, "metadata for topic " + topic);
    state.partitions = t.partition_cnt;
    state.all_leaders = t.partition_cnt > 0;
    for (int p = 0; p < t.partition_cnt; ++p) {
      if (t.partitions[p].leader < 0 || t.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        state.all_leaders = false;
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  return state;
}

class KafkaBus;

// One outstanding message: the caller's callback, owned by librdkafka (as the
// message opaque) from a successful produce until its delivery report.
struct Pending {
  DeliveryCallback done;
};

// Publisher: one producer handle plus one thread serving its delivery reports,
// so that callbacks for one partition run in order on that thread (librdkafka
// reports in order per partition; serving from two threads would not be).
class KafkaPublisher final : public Publisher {
 public:
  KafkaPublisher(KafkaBus* bus, const KafkaOptions& options)
      : bus_(bus),
        close_timeout_(options.close_timeout),
        bus_request_timeout_(options.request_timeout) {}

  absl::Status Init(const KafkaOptions& options, const std::string& client_id) {
    ASSIGN_OR_RETURN(Conf conf, MakeConf(options, client_id,
                                         {
                                             // No duplicates or reordering on retries: the
                                             // outbox relies on in-order delivery reports.
                                             {"enable.idempotence", "true"},
                                             {"acks", "all"},
                                             {"linger.ms", std::to_string(options.linger.count())},
                                             // Protobuf envelopes of one batch share most
                                             // field names and ids; lz4 is cheap on CPU.
                                             {"compression.type", "lz4"},
                                         }));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaPublisher::OnDelivery);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaPublisher::OnError);
    ASSIGN_OR_RETURN(rk_, NewHandle(RD_KAFKA_PRODUCER, std::move(conf)));
    poller_ = std::thread([this] { PollLoop(); });
    return absl::OkStatus();
  }

  ~KafkaPublisher() override {
    if (rk_ == nullptr) return;
    absl::Status flushed = Flush(close_timeout_);
    if (!flushed.ok()) {
      Log().Warn("closing publisher with undelivered messages; failing them",
                 {{"client", rd_kafka_name(rk_.get())}, {"error", flushed.ToString()}});
      // Purged messages get a delivery report with an error, so every
      // callback still runs exactly once.
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      if (!WaitIdle(close_timeout_)) {
        Log().Error("delivery callbacks lost at close: requests still in flight",
                    {{"pending", Outstanding()}});
      }
    }
    stop_.store(true);
    // Cuts the poller's wait short; without it, it notices within 100 ms.
    rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(rk_.get());
    rd_kafka_queue_yield(main_queue);
    rd_kafka_queue_destroy(main_queue);
    poller_.join();
    rk_.reset();
  }

  absl::Status Publish(OutMessage message, DeliveryCallback done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!fatal_.ok()) return fatal_;
    }
    ASSIGN_OR_RETURN(int32_t partitions, PartitionCount(message.topic));
    const int32_t partition = PartitionForKey(message.key, partitions);

    rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
    for (const Header& h : message.headers) {
      rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    auto pending = std::make_unique<Pending>(Pending{std::move(done)});
    {
      // Counted before producing: the report may arrive before producev returns.
      std::lock_guard<std::mutex> lock(mu_);
      ++outstanding_;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(message.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(message.value.data(), message.value.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // owned by librdkafka only on success
      Done();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return absl::UnavailableError(
            "publish to " + message.topic +
            ": the producer queue is full (queue.buffering.max.messages); wait for "
            "deliveries (Flush) and retry");
      }
      return ToStatus(err, "publish to " + message.topic + "/" + std::to_string(partition));
    }
    pending.release();  // now the message's opaque
    return absl::OkStatus();
  }

  absl::Status Flush(milliseconds timeout) override {
    // Waits for our own count rather than calling rd_kafka_flush(), which
    // would serve delivery reports on this thread too and so break the
    // per-partition callback order.
    if (WaitIdle(timeout)) return absl::OkStatus();
    return absl::DeadlineExceededError(
        std::to_string(Outstanding()) + " messages still undelivered after " +
        std::to_string(timeout.count()) + " ms; is the Kafka cluster reachable?");
  }

 private:
  absl::StatusOr<int32_t> PartitionCount(const std::string& topic);

  void PollLoop() {
    while (!stop_.load()) rd_kafka_poll(rk_.get(), 100);
    // Reports that raced with stop.
    rd_kafka_poll(rk_.get(), 0);
  }

  bool WaitIdle(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return outstanding_ == 0; });
  }

  int64_t Outstanding() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }

  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) idle_.notify_all();
  }

  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaPublisher*>(opaque);
    std::unique_ptr<Pending> pending(static_cast<Pending*>(m->_private));
    absl::Status status;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = ToStatus(m->err, std::string("delivery to ") + rd_kafka_topic_name(m->rkt) + "/" +
                                    std::to_string(m->partition));
    }
    if (pending != nullptr && pending->done) {
      // A throwing callback would unwind through C frames.
      try {
        pending->done(status, m->partition, m->offset);
      } catch (const std::exception& e) {
        Log().Error("delivery callback threw", {{"what", e.what()}});
      } catch (...) {
        Log().Error("delivery callback threw");
      }
    }
    self->Done();
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaPublisher*>(opaque);
    auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512];
      rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
      std::lock_guard<std::mutex> lock(self->mu_);
      self->fatal_ = ToStatus(code, "producer " + std::string(rd_kafka_name(rk)),
                              std::string(rd_kafka_err2name(orig)) + ": " + fatal);
      Log().Error("producer failed for good", {{"error", self->fatal_.ToString()}});
      return;
    }
    if (self->error_log_.Allow()) {
      Log().Warn(
          "producer error (librdkafka retries)",
          {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(code)}, {"reason", reason}});
    }
  }

  KafkaBus* bus_;
  milliseconds close_timeout_;
  milliseconds bus_request_timeout_;
  Handle rk_;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  LogEvery error_log_{std::chrono::seconds(5)};

  std::mutex mu_;
  std::condition_variable idle_;
  int64_t outstanding_ = 0;  // produced, delivery callback not yet run
  absl::Status fatal_;
  std::set<std::string> warm_topics_;  // topics this producer has metadata for
};

// Consumer: a handle in consumer mode with a group.id (librdkafka's assign()
// needs one) that never joins the group and never commits: positions come
// from the caller's own store through Assign().
class KafkaConsumer final : public Consumer {
 public:
  ~KafkaConsumer() override {
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    if (rk_ != nullptr) {
      rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_.get());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Log().Warn("consumer close", {{"error", rd_kafka_err2name(err)}});
      }
    }
  }

  absl::Status Init(const KafkaOptions& options, const std::string& client_id) {
    ASSIGN_OR_RETURN(Conf conf, MakeConf(options, client_id,
                                         {
                                             {"group.id", options.client_id + "-assign"},
                                             {"enable.auto.commit", "false"},
                                             {"enable.auto.offset.store", "false"},
                                             // See README: replay from the start
                                             // when a stored offset is gone.
                                             {"auto.offset.reset", "earliest"},
                                             {"enable.partition.eof", "false"},
                                             // Bounds how late a new assignment
                                             // joins the next fetch.
                                             {"fetch.wait.max.ms", "100"},
                                             {"fetch.error.backoff.ms", "100"},
                                         }));
    ASSIGN_OR_RETURN(rk_, NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
    // Errors and messages both arrive on the consumer queue, which Poll serves.
    RETURN_IF_ERROR(ToStatus(rd_kafka_poll_set_consumer(rk_.get()), "consumer setup"));
    queue_ = rd_kafka_queue_get_consumer(rk_.get());
    if (queue_ == nullptr) return absl::InternalError("librdkafka gave no consumer queue");
    return absl::OkStatus();
  }

  absl::Status Assign(const std::vector<PartitionStart>& starts) override {
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(starts.size())));
    for (const PartitionStart& s : starts) {
      if (s.offset < 0 || s.tp.partition < 0 || s.tp.topic.empty()) {
        return absl::InvalidArgumentError(
            "cannot assign " + s.tp.topic + "/" + std::to_string(s.tp.partition) + " at offset " +
            std::to_string(s.offset) + ": topic, partition and offset must be set (>= 0)");
      }
      rd_kafka_topic_partition_list_add(list.get(), s.tp.topic.c_str(), s.tp.partition)->offset =
          s.offset;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), starts.empty() ? nullptr : list.get());
    return ToStatus(err, "assign");
  }

  absl::StatusOr<std::vector<Message>> Poll(size_t max_messages, milliseconds timeout) override {
    std::vector<Message> out;
    if (max_messages == 0) return out;
    if (!deferred_.ok()) return std::exchange(deferred_, absl::OkStatus());
    const auto deadline = Clock::now() + timeout;
    bool brokers_down = false;
    // Wait for the first message (or the deadline, or Wake).
    while (out.empty()) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, TimeoutMs(left));
      if (m == nullptr) {
        if (woken_.exchange(false) || Clock::now() >= deadline) break;
        continue;
      }
      absl::Status s = Take(m, out, brokers_down);
      if (!s.ok()) return s;
    }
    // Then whatever is already here, without waiting.
    while (out.size() < max_messages) {
      rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, 0);
      if (m == nullptr) break;
      absl::Status s = Take(m, out, brokers_down);
      if (!s.ok()) {
        // Hand over what we have; the error comes with the next Poll.
        deferred_ = s;
        break;
      }
    }
    if (out.empty() && brokers_down) {
      return absl::UnavailableError(
          "poll: all Kafka brokers are down; fetching resumes when one is reachable");
    }
    return out;
  }

  void Wake() override {
    woken_.store(true);
    rd_kafka_queue_yield(queue_);
  }

 private:
  // Converts and destroys `m`. Transient errors are logged and skipped
  // (librdkafka retries); permanent ones are returned.
  absl::Status Take(rd_kafka_message_t* m, std::vector<Message>& out, bool& brokers_down) {
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        m, &rd_kafka_message_destroy);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return absl::OkStatus();
      std::string where = m->rkt != nullptr ? std::string(rd_kafka_topic_name(m->rkt)) + "/" +
                                                  std::to_string(m->partition)
                                            : std::string("consumer");
      if (m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) brokers_down = true;
      if (IsTransient(m->err)) {
        if (error_log_.Allow()) {
          Log().Warn("consumer error (librdkafka retries)",
                     {{"where", where},
                      {"error", rd_kafka_err2name(m->err)},
                      {"reason", rd_kafka_message_errstr(m)}});
        }
        return absl::OkStatus();
      }
      return ToStatus(m->err, "poll " + where, rd_kafka_message_errstr(m));
    }
    Message msg;
    msg.topic = rd_kafka_topic_name(m->rkt);
    msg.partition = m->partition;
    msg.offset = m->offset;
    if (m->key != nullptr) msg.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) msg.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t ts_type;
    msg.timestamp_ms = rd_kafka_message_timestamp(m, &ts_type);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        msg.headers.push_back(
            {name, value != nullptr ? std::string(static_cast<const char*>(value), size) : ""});
      }
    }
    out.push_back(std::move(msg));
    return absl::OkStatus();
  }

  Handle rk_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::atomic<bool> woken_{false};
  absl::Status deferred_;
  LogEvery error_log_{std::chrono::seconds(5)};
};

class KafkaBus final : public Bus {
 public:
  explicit KafkaBus(KafkaOptions options) : options_(std::move(options)) {}

  absl::Status Init() {
    // The bus's own handle serves metadata, admin and offset requests; it
    // never produces or joins a group, so it needs no poll thread. It is a
    // consumer-type handle because only those honour
    // allow.auto.create.topics=false: a producer's metadata request for a
    // missing topic would create it with the broker's default partition
    // count on clusters that allow auto-creation.
    ASSIGN_OR_RETURN(Conf conf, MakeConf(options_, options_.client_id + "-admin", {}));
    ASSIGN_OR_RETURN(control_, NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::string, std::string>> TopicConfigs(
      const std::string& topic) override {
    char errstr[512];
    rd_kafka_AdminOptions_t* admin =
        rd_kafka_AdminOptions_new(control_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    const int timeout_ms = TimeoutMs(options_.request_timeout);
    rd_kafka_AdminOptions_set_request_timeout(admin, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_queue_t* queue = rd_kafka_queue_new(control_.get());
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_DescribeConfigs(control_.get(), &resource, 1, admin, queue);
    rd_kafka_ConfigResource_destroy(resource);
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    rd_kafka_queue_destroy(queue);
    if (ev == nullptr) {
      return absl::UnavailableError("describe configs of " + topic + ": no answer from " +
                                    options_.brokers + " within " + std::to_string(timeout_ms) +
                                    " ms; retry");
    }
    absl::Status status = ToStatus(rd_kafka_event_error(ev), "describe configs of " + topic,
                                   rd_kafka_event_error_string(ev));
    std::map<std::string, std::string> out;
    if (status.ok()) {
      size_t n = 0;
      const rd_kafka_ConfigResource_t** got =
          rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
      for (size_t r = 0; r < n && status.ok(); ++r) {
        status = ToStatus(rd_kafka_ConfigResource_error(got[r]), "describe configs of " + topic,
                          rd_kafka_ConfigResource_error_string(got[r]) != nullptr
                              ? rd_kafka_ConfigResource_error_string(got[r])
                              : "");
        size_t entries = 0;
        const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(got[r], &entries);
        for (size_t c = 0; c < entries; ++c) {
          const char* v = rd_kafka_ConfigEntry_value(configs[c]);
          out[rd_kafka_ConfigEntry_name(configs[c])] = v != nullptr ? v : "";
        }
      }
    }
    rd_kafka_event_destroy(ev);
    RETURN_IF_ERROR(status);
    return out;
  }

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics) override {
    if (topics.empty()) return absl::OkStatus();
    std::vector<rd_kafka_NewTopic_t*> specs;
    auto free_specs = [&specs] {
      if (!specs.empty()) rd_kafka_NewTopic_destroy_array(specs.data(), specs.size());
    };
    char errstr[512];
    for (const TopicSpec& t : topics) {
      rd_kafka_NewTopic_t* spec =
          t.partitions > 0
              ? rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, options_.replication_factor,
                                      errstr, sizeof(errstr))
              : nullptr;
      if (spec == nullptr || t.name.empty()) {
        if (spec != nullptr) rd_kafka_NewTopic_destroy(spec);
        free_specs();
        return absl::InvalidArgumentError("cannot create topic '" + t.name + "' with " +
                                          std::to_string(t.partitions) +
                                          " partitions: need a name and at least one partition");
      }
      for (const auto& [key, value] : t.configs) {
        if (rd_kafka_resp_err_t err =
                rd_kafka_NewTopic_set_config(spec, key.c_str(), value.c_str());
            err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_NewTopic_destroy(spec);
          free_specs();
          return ToStatus(err, "topic " + t.name + " setting " + key);
        }
      }
      specs.push_back(spec);
    }

    rd_kafka_AdminOptions_t* admin =
        rd_kafka_AdminOptions_new(control_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    const int timeout_ms = TimeoutMs(options_.request_timeout);
    // Operation timeout: the broker answers once the controller created the
    // topics (or this passes), not right after accepting the request.
    rd_kafka_AdminOptions_set_request_timeout(admin, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(admin, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_queue_t* queue = rd_kafka_queue_new(control_.get());
    rd_kafka_CreateTopics(control_.get(), specs.data(), specs.size(), admin, queue);
    free_specs();
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    rd_kafka_queue_destroy(queue);
    if (ev == nullptr) {
      return absl::UnavailableError("create topics: no answer from " + options_.brokers +
                                    " within " + std::to_string(timeout_ms) + " ms; retry");
    }
    absl::Status status =
        ToStatus(rd_kafka_event_error(ev), "create topics", rd_kafka_event_error_string(ev));
    if (status.ok()) {
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      for (size_t i = 0; i < n && status.ok(); ++i) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
        const char* detail = rd_kafka_topic_result_error_string(results[i]);
        status =
            ToStatus(err, std::string("create topic ") + rd_kafka_topic_result_name(results[i]),
                     detail != nullptr ? detail : "");
      }
    }
    rd_kafka_event_destroy(ev);
    RETURN_IF_ERROR(status);

    // Return only once the topics are usable: a created topic reaches the
    // brokers' metadata (and gets leaders) a moment after the controller
    // answered.
    const auto deadline = Clock::now() + options_.request_timeout;
    for (const TopicSpec& t : topics) {
      TopicState state;
      auto pause = milliseconds(5);
      while (true) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        state = DescribeTopic(control_.get(), t.name, std::max(left, milliseconds(1)));
        if (state.status.ok() && state.all_leaders) break;
        if (Clock::now() >= deadline) {
          return absl::UnavailableError("topic " + t.name + " was created but has no leader for " +
                                        "every partition yet (" + state.status.ToString() +
                                        "); retry");
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, milliseconds(200));
      }
      if (state.partitions != t.partitions) {
        Log().Warn("topic exists with another partition count; left alone",
                   {{"topic", t.name}, {"partitions", state.partitions}, {"wanted", t.partitions}});
      }
      std::lock_guard<std::mutex> lock(mu_);
      partition_counts_[t.name] = state.partitions;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> PartitionCount(const std::string& topic) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = partition_counts_.find(topic);
      if (it != partition_counts_.end()) return it->second;
    }
    TopicState state = DescribeTopic(control_.get(), topic, options_.request_timeout);
    RETURN_IF_ERROR(state.status);
    if (state.partitions <= 0) {
      return absl::UnavailableError("topic " + topic + " has no partitions in the metadata yet");
    }
    std::lock_guard<std::mutex> lock(mu_);
    partition_counts_[topic] = state.partitions;
    return state.partitions;
  }

  absl::StatusOr<std::unique_ptr<Publisher>> NewPublisher() override {
    auto publisher = std::make_unique<KafkaPublisher>(this, options_);
    RETURN_IF_ERROR(publisher->Init(options_, ClientId("producer")));
    return std::unique_ptr<Publisher>(std::move(publisher));
  }

  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer() override {
    auto consumer = std::make_unique<KafkaConsumer>();
    RETURN_IF_ERROR(consumer->Init(options_, ClientId("consumer")));
    return std::unique_ptr<Consumer>(std::move(consumer));
  }

  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& topic) override {
    ASSIGN_OR_RETURN(int32_t partitions, PartitionCount(topic));
    // A leader that has just been elected (new topic, restarted broker)
    // answers NOT_LEADER for a moment: retry transient errors until the
    // request deadline rather than hand the caller a spurious failure.
    const auto deadline = Clock::now() + options_.request_timeout;
    auto pause = milliseconds(10);
    while (true) {
      auto ends = QueryEndOffsets(topic, partitions, deadline);
      if (ends.ok() || !absl::IsUnavailable(ends.status()) || Clock::now() >= deadline) {
        return ends;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, milliseconds(250));
    }
  }

 private:
  absl::StatusOr<std::vector<int64_t>> QueryEndOffsets(const std::string& topic, int32_t partitions,
                                                       Clock::time_point deadline) {
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int32_t p = 0; p < partitions; ++p) {
      // ListOffsets with the "latest" timestamp: one request per leader
      // instead of one per partition.
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    RETURN_IF_ERROR(ToStatus(rd_kafka_offsets_for_times(control_.get(), list.get(),
                                                        TimeoutMs(std::max(left, milliseconds(1)))),
                             "end offsets of " + topic));
    std::vector<int64_t> ends(partitions, 0);
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      RETURN_IF_ERROR(
          ToStatus(tp.err, "end offset of " + topic + "/" + std::to_string(tp.partition)));
      if (tp.partition >= 0 && tp.partition < partitions) ends[tp.partition] = tp.offset;
    }
    return ends;
  }

  std::string ClientId(const char* role) {
    return options_.client_id + "-" + role + "-" + std::to_string(++clients_);
  }

  KafkaOptions options_;
  Handle control_;
  std::atomic<int> clients_{0};
  std::mutex mu_;
  std::map<std::string, int32_t> partition_counts_;
};

absl::StatusOr<int32_t> KafkaPublisher::PartitionCount(const std::string& topic) {
  ASSIGN_OR_RETURN(int32_t partitions, bus_->PartitionCount(topic));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (warm_topics_.count(topic) != 0) return partitions;
  }
  // librdkafka learns about a topic new to this producer only on its next
  // one-second metadata tick; asking now makes the first messages leave
  // immediately. The bus has already checked that the topic exists, so this
  // request cannot auto-create it.
  TopicState state = DescribeTopic(rk_.get(), topic, bus_request_timeout_);
  if (!state.status.ok()) {
    Log().Warn("producer metadata warm-up failed; first messages may wait a second",
               {{"topic", topic}, {"error", state.status.ToString()}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  warm_topics_.insert(topic);
  return partitions;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Bus>> OpenKafkaBus(const KafkaOptions& options) {
  if (options.brokers.empty()) {
    return absl::InvalidArgumentError(
        "KafkaOptions.brokers is empty; set it to host:port[,host:port...]");
  }
  if (options.client_id.empty()) {
    return absl::InvalidArgumentError("KafkaOptions.client_id is empty");
  }
  auto bus = std::make_unique<KafkaBus>(options);
  RETURN_IF_ERROR(bus->Init());
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace threadline::bus
