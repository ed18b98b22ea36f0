#include "faults_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "threadline/bus/kafka.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/privacy.grpc.pb.h"

namespace threadline::testing::faults {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::max(0, std::atoi(v));
}

Bounds BoundsFromEnv(const Bounds& defaults) {
  Bounds b;
  b.commands = EnvInt("THREADLINE_FAULTS_COMMANDS", defaults.commands);
  b.seconds = EnvInt("THREADLINE_FAULTS_SECONDS", defaults.seconds);
  b.rate = std::max(4, EnvInt("THREADLINE_FAULTS_RATE", defaults.rate));
  return b;
}

std::string Topic(const std::string& department) { return "threadline." + department + ".v1"; }

std::string Quote(const std::string& s) { return "'" + s + "'"; }

int RunKafkaScript(const std::string& args) {
  const char* script = std::getenv("THREADLINE_KAFKA_SCRIPT");
  if (script == nullptr) {
    ADD_FAILURE() << "THREADLINE_KAFKA_SCRIPT is not set (run through ctest -L faults)";
    return -1;
  }
  const std::string command = Quote(script) + " " + args + " >&2";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string FirstLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

KeepOnFailure::~KeepOnFailure() {
  if (!::testing::Test::HasFailure()) return;
  const auto to =
      std::filesystem::current_path() / ("faults-failure-" + std::to_string(::getpid()));
  std::error_code ec;
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, ec);
  std::cout << "faults: the failed run's logs and stores are in " << to.string()
            << (ec ? " (copy incomplete: " + ec.message() + ")" : "") << std::endl;
}

namespace {

// GET /metrics from 127.0.0.1:port; the value of `series`, or -1.
double ScrapeMetric(int port, const std::string& series) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string body;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) body.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::atof(line.c_str() + series.size() + 1);
  }
  return -1;
}

const std::string kJourneyDuplicates = "threadline_duplicates_dropped_total{consumer=\"journey\"}";

}  // namespace

// The whole timeline of `customer`, every page. A customer the journey does
// not know yet has an empty one. False when a call failed.
bool FetchTimeline(const std::shared_ptr<grpc::Channel>& channel, const std::string& customer,
                   std::vector<v1::TimelineEntry>* out) {
  out->clear();
  auto stub = v1::JourneyService::NewStub(channel);
  std::string token;
  do {
    v1::GetTimelineRequest r;
    r.set_customer_id(customer);
    r.set_page_size(500);
    r.set_page_token(token);
    v1::GetTimelineResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::Status s = stub->GetTimeline(&ctx, r, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND && token.empty()) return true;
    if (!s.ok()) return false;
    out->insert(out->end(), resp.entries().begin(), resp.entries().end());
    token = resp.next_page_token();
  } while (!token.empty());
  return true;
}

// Waits for acknowledged commands to show on their customers' timelines:

TimelineWatch::TimelineWatch(const std::vector<Command>& commands) {
  for (const auto& c : commands) {
    if (c.fate != Fate::kAcked) continue;
    auto& want = want_[c.customer];
    if (c.event_customer.empty()) {
      want.linked_callbacks.insert(c.callback_id);
    } else {
      want.event_ids.insert(c.event_ids.begin(), c.event_ids.end());
    }
  }
}

bool TimelineWatch::Done(const std::shared_ptr<grpc::Channel>& journey) {
  for (const auto& [customer, want] : want_) {
    if (done_.count(customer)) continue;
    std::vector<v1::TimelineEntry> entries;
    if (!FetchTimeline(journey, customer, &entries)) return false;
    const auto [events, linked] = Found(entries, want);
    if (events < want.event_ids.size() || linked < want.linked_callbacks.size()) {
      missing_ = customer + " has " + std::to_string(events) + "/" +
                 std::to_string(want.event_ids.size()) + " events and " + std::to_string(linked) +
                 "/" + std::to_string(want.linked_callbacks.size()) + " linked calls (callbacks:";
      for (const auto& c : want.linked_callbacks) missing_ += " " + c;
      missing_ += ")";
      return false;
    }
    done_.insert(customer);
  }
  return true;
}

size_t TimelineWatch::Present(const std::shared_ptr<grpc::Channel>& journey) const {
  size_t n = 0;
  for (const auto& [customer, want] : want_) {
    std::vector<v1::TimelineEntry> entries;
    FetchTimeline(journey, customer, &entries);
    const auto [events, linked] = Found(entries, want);
    n += events + linked;
  }
  return n;
}

// (expected events, expected linked calls) among `entries`.
std::pair<size_t, size_t> TimelineWatch::Found(const std::vector<v1::TimelineEntry>& entries,
                                               const Want& want) {
  size_t events = 0, linked = 0;
  for (const auto& e : entries) {
    if (want.event_ids.count(e.event_id())) ++events;
    auto callback = e.refs().find("callback_id");
    if (e.kind() == "MissedCallLinked" && callback != e.refs().end() &&
        want.linked_callbacks.count(callback->second)) {
      ++linked;
    }
  }
  return {events, linked};
}

Services::Services(const std::filesystem::path& root, const std::string& bootstrap)
    : dir(root),
      brokers(bootstrap),
      privacy(StartPrivacyProcess(root, bootstrap)),
      metrics_port(FreePort()),
      journey_dir((root / "journey").string()) {
  for (const auto& name : kDepartments) {
    auto d = std::make_unique<Dept>();
    d->name = name;
    d->process = std::make_unique<SuiteProcess>(
        (dir / name).string(),
        WithKeysFrom(*privacy, {"--target", name, "--kafka-brokers", brokers}),
        (dir / (name + ".log")).string());
    d->channel = FastChannel(d->process->address());
    dept_ptrs[name] = d.get();
    depts[name] = std::move(d);
  }
  journey = std::make_unique<SuiteProcess>(
      journey_dir,
      WithKeysFrom(*privacy, {"--target", "journey", "--kafka-brokers", brokers, "--metrics-listen",
                              "127.0.0.1:" + std::to_string(metrics_port)}),
      (dir / "journey.log").string());
  journey_channel = FastChannel(journey->address());
}

std::string Services::NotReady() {
  using grpc::health::v1::HealthCheckResponse;
  std::vector<std::pair<std::string, SuiteProcess*>> all{{"privacy", privacy.get()},
                                                         {"journey", journey.get()}};
  for (const auto& [name, d] : depts) all.emplace_back(name, d->process.get());
  const std::map<std::string, std::string> health_names{
      {"sales", v1::SalesService::service_full_name()},
      {"installation", v1::InstallationService::service_full_name()},
      {"support", v1::SupportService::service_full_name()},
      {"billing", v1::BillingService::service_full_name()},
      {"journey", v1::JourneyService::service_full_name()},
      {"privacy", v1::PrivacyService::service_full_name()}};
  std::string not_ready;
  for (const auto& [name, process] : all) {
    if (process->Health(health_names.at(name)) != HealthCheckResponse::SERVING) {
      not_ready += (not_ready.empty() ? "" : " ") + name;
    }
  }
  return not_ready;
}

void Services::CountJourneyDuplicates() {
  const double dups = ScrapeMetric(metrics_port, kJourneyDuplicates);
  if (dups > 0) live_duplicates += static_cast<uint64_t>(dups);
}

namespace {

// Every message of the department topics up to their end offsets.
struct KafkaEvent {
  v1::EventEnvelope envelope;
  std::string topic;
  int copies = 0;
};
struct KafkaView {
  std::map<std::string, KafkaEvent> events;  // by event_id
  uint64_t messages = 0;
  uint64_t undecodable = 0;
  uint64_t Duplicates() const { return messages - undecodable - events.size(); }
};

absl::StatusOr<KafkaView> ReadDepartmentTopics(bus::Bus& bus, std::chrono::seconds timeout) {
  std::vector<bus::PartitionStart> starts;
  std::map<bus::TopicPartition, int64_t> ends, next;
  for (const auto& d : kDepartments) {
    auto e = bus.EndOffsets(Topic(d));
    if (!e.ok()) return e.status();
    for (size_t p = 0; p < e->size(); ++p) {
      bus::TopicPartition tp{Topic(d), static_cast<int32_t>(p)};
      if ((*e)[p] == 0) continue;
      starts.push_back({tp, 0});
      ends[tp] = (*e)[p];
      next[tp] = 0;
    }
  }
  auto consumer = bus.NewConsumer();
  if (!consumer.ok()) return consumer.status();
  if (auto s = (*consumer)->Assign(starts); !s.ok()) return s;
  KafkaView view;
  const auto deadline = Steady::now() + timeout;
  auto behind = [&] {
    for (const auto& [tp, end] : ends) {
      if (next[tp] < end) return true;
    }
    return false;
  };
  while (behind()) {
    if (Steady::now() >= deadline) {
      return absl::DeadlineExceededError("department topics not read to their end in time");
    }
    auto batch = (*consumer)->Poll(2000, 200ms);
    if (!batch.ok()) continue;
    for (const auto& m : *batch) {
      bus::TopicPartition tp{m.topic, m.partition};
      if (!ends.count(tp) || m.offset >= ends[tp]) continue;  // after the snapshot
      next[tp] = std::max(next[tp], m.offset + 1);
      ++view.messages;
      v1::EventEnvelope e;
      if (!e.ParseFromString(m.value) || e.event_id().empty()) {
        ++view.undecodable;
        continue;
      }
      KafkaEvent& k = view.events[e.event_id()];
      if (k.copies++ == 0) {
        k.envelope = std::move(e);
        k.topic = m.topic;
      }
    }
  }
  return view;
}

// The cross-department reactions every event in Kafka must have caused, and
// only once: OrderPlaced -> one WorkOrderCreated and a ChargeScheduled per
// item; InstallationCompleted -> a ChargeActivated per delivered item; a
// missed call kept under a number that was registered -> one
// MissedCallLinked. Empty when complete.
std::vector<std::string> MissingReactions(const KafkaView& k) {
  std::map<std::string, std::vector<const v1::EventEnvelope*>> by_cause;
  std::map<std::string, int> linked;  // callback_id -> MissedCallLinked
  std::set<std::string> registered_phones;
  for (const auto& [id, ev] : k.events) {
    const auto& e = ev.envelope;
    by_cause[e.causation_id()].push_back(&e);
    if (e.has_missed_call_linked()) ++linked[e.missed_call_linked().callback_id()];
    if (e.has_customer_registered()) {
      for (const auto& p : e.customer_registered().phone_numbers()) registered_phones.insert(p);
    }
  }
  std::vector<std::string> problems;
  for (const auto& [id, ev] : k.events) {
    const auto& e = ev.envelope;
    if (e.has_order_placed()) {
      int installs = 0, work_orders = 0, charges = 0;
      for (const auto& item : e.order_placed().items()) installs += item.needs_installation();
      for (const auto* r : by_cause[id]) {
        work_orders += r->has_work_order_created();
        charges += r->has_charge_scheduled();
      }
      if (work_orders != (installs > 0 ? 1 : 0) || charges != e.order_placed().items_size()) {
        problems.push_back("order " + e.order_placed().order_id() + ": " +
                           std::to_string(work_orders) + " work orders, " +
                           std::to_string(charges) + " charges scheduled");
      }
    } else if (e.has_installation_completed()) {
      int activated = 0;
      for (const auto* r : by_cause[id]) activated += r->has_charge_activated();
      if (activated != e.installation_completed().delivered_size()) {
        problems.push_back("installation " + e.installation_completed().work_order_id() + ": " +
                           std::to_string(activated) + " charges activated of " +
                           std::to_string(e.installation_completed().delivered_size()));
      }
    } else if (e.has_missed_call_recorded() && e.customer_id().empty() &&
               registered_phones.count(e.missed_call_recorded().caller_number())) {
      const std::string& callback = e.missed_call_recorded().callback_id();
      if (linked[callback] != 1) {
        problems.push_back("missed call " + callback + " from registered " +
                           e.missed_call_recorded().caller_number() + ": linked " +
                           std::to_string(linked[callback]) + " times");
      }
    }
  }
  return problems;
}

absl::StatusOr<std::vector<v1::EventEnvelope>> ReadStore(const std::string& path) {
  eventstore::Options o;
  o.path = path;
  auto store = eventstore::EventStore::Open(o);
  if (!store.ok()) return store.status();
  std::vector<v1::EventEnvelope> out;
  GlobalPosition after(0);
  while (true) {
    auto batch = (*store)->ReadAll(after, 1000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) break;
    for (auto& e : *batch) {
      after = e.position;
      out.push_back(std::move(e.envelope));
    }
  }
  return out;
}

// The number after " key=" on the line containing `marker`, or -1.
int64_t LoggedField(const std::string& log, const std::string& marker, const std::string& key) {
  auto at = log.find(marker);
  if (at == std::string::npos) return -1;
  auto line_end = log.find('\n', at);
  auto field = log.find(" " + key + "=", at);
  if (field == std::string::npos || field > line_end) return -1;
  return std::atoll(log.c_str() + field + key.size() + 2);
}

}  // namespace

void CheckAfterLoad(Services& services, const std::vector<Command>& commands,
                    const Stopwatch& watch, Tally* tally) {
  const std::shared_ptr<grpc::Channel>& journey_channel = services.journey_channel;
  const std::string& brokers = services.brokers;
  const std::filesystem::path& dir = services.dir;
  const std::string& journey_dir = services.journey_dir;
  const auto& depts = services.depts;
  SuiteProcess& journey = *services.journey;
  SuiteProcess& privacy = *services.privacy;

  // --- Settle ------------------------------------------------------------------
  TimelineWatch all(commands);
  ASSERT_TRUE(WaitFor([&] { return all.Done(journey_channel); }, std::chrono::seconds(180)))
      << "acknowledged commands missing from the journey: " << all.missing();
  bus::KafkaOptions kafka_options;
  kafka_options.brokers = brokers;
  kafka_options.client_id = "faults-test";
  auto bus = bus::OpenKafkaBus(kafka_options);
  ASSERT_OK(bus);
  std::vector<std::string> missing_reactions;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto k = ReadDepartmentTopics(**bus, std::chrono::seconds(60));
        if (!k.ok()) return false;
        missing_reactions = MissingReactions(*k);
        return missing_reactions.empty();
      },
      std::chrono::seconds(120)))
      << missing_reactions.size() << " reactions missing or doubled, e.g. "
      << (missing_reactions.empty() ? "" : missing_reactions.front());
  watch.Note("settled: every acknowledged command on the journey, every reaction in Kafka");

  // Idempotency: every acknowledged command sent again answers its first
  // answer and appends nothing (the store checks below count the events).
  for (const auto& c : commands) {
    if (c.fate != Fate::kAcked) continue;
    v1::CommandAck ack;
    grpc::Status s = c.replay(&ack);
    ASSERT_TRUE(s.ok()) << c.kind << " " << c.request_id << ": " << s.error_message();
    EXPECT_TRUE(ack.replayed()) << c.kind << " " << c.request_id;
    EXPECT_EQ(std::vector<std::string>(ack.event_ids().begin(), ack.event_ids().end()), c.event_ids)
        << c.kind << " " << c.request_id;
  }

  // Departments stop cleanly (relays flush); their stores are then ours.
  for (const auto& [name, d] : depts) {
    d->process->Kill(SIGTERM);
    EXPECT_EQ(d->process->process()->Wait(std::chrono::seconds(60)), 0) << name;
  }

  // --- Kafka and the stores ------------------------------------------------
  auto kafka_or = ReadDepartmentTopics(**bus, std::chrono::seconds(120));
  ASSERT_OK(kafka_or);
  const KafkaView& kafka = *kafka_or;
  EXPECT_EQ(kafka.undecodable, 0u);
  EXPECT_TRUE(MissingReactions(kafka).empty());
  // department -> causation_id -> event ids, from the store
  std::map<std::string, std::map<std::string, std::vector<std::string>>> caused;
  for (const auto& name : kDepartments) {
    auto events = ReadStore((dir / name / name).string());
    ASSERT_OK(events);
    std::set<std::string> stored, published;
    for (const auto& e : *events) {
      stored.insert(e.event_id());
      caused[name][e.causation_id()].push_back(e.event_id());
      auto it = kafka.events.find(e.event_id());
      if (it != kafka.events.end()) {
        EXPECT_EQ(it->second.envelope.customer_id(), e.customer_id()) << e.event_id();
      }
    }
    for (const auto& [id, ev] : kafka.events) {
      if (ev.topic == Topic(name)) published.insert(id);
    }
    EXPECT_EQ(stored.size(), events->size()) << name << ": an event id stored twice";
    std::vector<std::string> unpublished, unknown;
    std::set_difference(stored.begin(), stored.end(), published.begin(), published.end(),
                        std::back_inserter(unpublished));
    std::set_difference(published.begin(), published.end(), stored.begin(), stored.end(),
                        std::back_inserter(unknown));
    EXPECT_TRUE(unpublished.empty())
        << name << ": " << unpublished.size() << " stored events never reached Kafka, e.g. "
        << unpublished.front();
    EXPECT_TRUE(unknown.empty()) << name << ": " << unknown.size()
                                 << " events in Kafka that the store does not hold";
  }

  // --- The journey against Kafka --------------------------------------------
  std::map<std::string, std::set<std::string>> by_customer;  // from Kafka
  for (const auto& [id, ev] : kafka.events) {
    if (!ev.envelope.customer_id().empty()) by_customer[ev.envelope.customer_id()].insert(id);
  }
  std::map<std::string, std::vector<v1::TimelineEntry>> timelines;
  std::string differs;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& [customer, ids] : by_customer) {
          auto& entries = timelines[customer];
          if (entries.size() == ids.size()) continue;
          if (!FetchTimeline(journey_channel, customer, &entries)) return false;
          if (entries.size() < ids.size()) {
            differs = customer + ": " + std::to_string(entries.size()) + " entries, " +
                      std::to_string(ids.size()) + " events in Kafka";
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(120)))
      << "the journey did not catch up with Kafka: " << differs;
  size_t timeline_entries = 0;
  std::map<std::string, std::string> entry_owner;  // event_id -> customer
  for (auto& [customer, entries] : timelines) {
    ASSERT_TRUE(FetchTimeline(journey_channel, customer, &entries));
    std::set<std::string> ids;
    for (const auto& e : entries) {
      EXPECT_EQ(e.customer_id(), customer) << e.event_id();
      EXPECT_TRUE(ids.insert(e.event_id()).second)
          << "event " << e.event_id() << " twice on " << customer << "'s timeline";
      EXPECT_TRUE(entry_owner.emplace(e.event_id(), customer).second)
          << "event " << e.event_id() << " on two timelines";
    }
    EXPECT_EQ(ids, by_customer[customer]) << customer;
    timeline_entries += entries.size();
    // The card counts what the timeline holds: nothing applied twice.
    v1::GetCustomerContextRequest r;
    r.set_customer_id(customer);
    v1::CustomerContext card;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ASSERT_TRUE(
        v1::JourneyService::NewStub(journey_channel)->GetCustomerContext(&ctx, r, &card).ok());
    EXPECT_EQ(card.timeline_length(), entries.size()) << customer;
  }

  // --- Every command, by what it came to ----------------------------------------
  int acked = 0, rejected = 0, abandoned = 0, abandoned_applied = 0, retried = 0, replayed = 0,
      during_outage = 0, meant_invalid = 0;
  std::map<std::string, int> rejected_codes;
  for (const auto& c : commands) {
    const std::vector<std::string> stored = caused[c.service].count(c.request_id)
                                                ? caused[c.service][c.request_id]
                                                : std::vector<std::string>{};
    const std::string what =
        c.service + " " + c.kind + " " + c.request_id + " (" + FateName(c.fate) + ")";
    if (c.meant_invalid) {
      ++meant_invalid;
      EXPECT_NE(c.fate, Fate::kAcked) << what << " was meant to be rejected";
      if (c.fate == Fate::kRejected) {
        EXPECT_EQ(c.code, grpc::StatusCode::INVALID_ARGUMENT) << what << ": " << c.error;
      }
    }
    switch (c.fate) {
      case Fate::kAcked: {
        ++acked;
        retried += c.interrupted;
        replayed += c.interrupted && c.replayed;
        during_outage += c.during_outage;
        ASSERT_FALSE(c.event_ids.empty()) << what;
        // Appended once, whatever the retries.
        EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()),
                  std::set<std::string>(c.event_ids.begin(), c.event_ids.end()))
            << what << ": the store holds other events for this request";
        for (const auto& id : c.event_ids) {
          auto it = kafka.events.find(id);
          ASSERT_NE(it, kafka.events.end()) << what << ": event " << id << " not in Kafka";
          EXPECT_EQ(it->second.topic, Topic(c.service)) << what;
          EXPECT_EQ(it->second.envelope.customer_id(), c.event_customer) << what;
          if (!c.event_customer.empty()) {
            EXPECT_EQ(entry_owner[id], c.customer) << what << ": event " << id;
          }
        }
        if (c.event_customer.empty()) {
          // A call from a number support did not know yet: on the timeline
          // of the number's owner once, as MissedCallLinked.
          int linked = 0;
          for (const auto& e : timelines[c.customer]) {
            linked += e.kind() == "MissedCallLinked" && e.refs().count("callback_id") &&
                      e.refs().at("callback_id") == c.callback_id;
          }
          EXPECT_EQ(linked, 1) << what << ": callback " << c.callback_id;
        } else {
          EXPECT_EQ(c.event_customer, c.customer) << what << ": on the wrong customer";
        }
        break;
      }
      case Fate::kRejected:
        ++rejected;
        ++rejected_codes[std::to_string(static_cast<int>(c.code))];
        EXPECT_TRUE(stored.empty()) << what << " left " << stored.size() << " events";
        EXPECT_TRUE(c.code != grpc::StatusCode::INTERNAL && c.code != grpc::StatusCode::UNKNOWN &&
                    c.code != grpc::StatusCode::DATA_LOSS)
            << what << ": " << c.code << " " << c.error;
        break;
      case Fate::kAbandoned:
        ++abandoned;
        // None or all: the command's events are in Kafka and on the journey
        // (the store and journey checks above cover every stored event);
        // an order among them caused its reactions (MissingReactions).
        if (!stored.empty()) {
          ++abandoned_applied;
          EXPECT_EQ(stored.size(), 1u) << what << ": appended more than once";
          for (const auto& id : stored) {
            auto it = kafka.events.find(id);
            ASSERT_NE(it, kafka.events.end())
                << what << ": half-applied, " << id << " is not in Kafka";
            if (!it->second.envelope.customer_id().empty()) {
              EXPECT_EQ(entry_owner.count(id), 1u)
                  << what << ": half-applied, " << id << " is not on the journey";
            }
          }
        }
        break;
    }
  }
  EXPECT_GT(acked, 0);

  // --- Live journey == rebuild from scratch ------------------------------------
  services.CountJourneyDuplicates();
  const uint64_t live_duplicates = services.live_duplicates;
  journey.Kill(SIGTERM);
  ASSERT_EQ(journey.process()->Wait(std::chrono::seconds(60)), 0) << journey.Log();
  const std::string rebuilt = (dir / "rebuilt").string();
  const std::string rebuild_log = RunThreadline(
      {"journey", "rebuild", "--out", rebuilt, "--kafka-brokers", brokers, "--data-dir",
       (dir / "scratch").string(), "--privacy-address", privacy.address()},
      (dir / "rebuild.log").string());
  const std::string live_digest =
      LastLine(RunThreadline({"journey", "fingerprint", "--path", journey_dir + "/journey",
                              "--kafka-brokers", brokers, "--privacy-address", privacy.address()},
                             (dir / "fp-live.log").string()));
  const std::string rebuilt_digest =
      LastLine(RunThreadline({"journey", "fingerprint", "--path", rebuilt, "--kafka-brokers",
                              brokers, "--privacy-address", privacy.address()},
                             (dir / "fp-rebuilt.log").string()));
  EXPECT_FALSE(live_digest.empty());
  EXPECT_EQ(live_digest, rebuilt_digest) << "the live journey differs from a rebuild";
  const int64_t rebuild_messages = LoggedField(rebuild_log, "journey rebuilt", "messages");
  const int64_t rebuild_entries = LoggedField(rebuild_log, "journey rebuilt", "entries");
  const int64_t rebuild_duplicates = LoggedField(rebuild_log, "journey rebuilt", "duplicates");
  EXPECT_EQ(rebuild_messages, static_cast<int64_t>(kafka.messages)) << rebuild_log;
  EXPECT_EQ(rebuild_entries, static_cast<int64_t>(timeline_entries)) << rebuild_log;
  EXPECT_EQ(rebuild_duplicates, static_cast<int64_t>(kafka.Duplicates())) << rebuild_log;
  EXPECT_LE(live_duplicates, kafka.Duplicates());

  tally->issued = static_cast<int>(commands.size());
  tally->acked = acked;
  tally->rejected = rejected;
  tally->abandoned = abandoned;
  tally->abandoned_applied = abandoned_applied;
  tally->retried = retried;
  tally->replayed = replayed;
  tally->during_outage = during_outage;
  tally->meant_invalid = meant_invalid;
  tally->rejected_codes = rejected_codes;
  tally->events = kafka.events.size();
  tally->kafka_messages = kafka.messages;
  tally->kafka_duplicates = kafka.Duplicates();
  tally->live_duplicates = live_duplicates;
  tally->rebuild_duplicates = rebuild_duplicates;
  tally->timeline_entries = timeline_entries;
  tally->customers = timelines.size();
}

void PrintTally(const Tally& t, const std::string& outage) {
  std::string codes;
  for (const auto& [code, n] : t.rejected_codes) codes += " code" + code + "=" + std::to_string(n);
  std::cout << "faults: commands issued=" << t.issued << " acknowledged=" << t.acked << " (during "
            << outage << "=" << t.during_outage << ", after a retry=" << t.retried
            << ", of which replays=" << t.replayed << ") rejected=" << t.rejected
            << " (meant invalid=" << t.meant_invalid << ";" << codes
            << ") abandoned=" << t.abandoned << " (applied=" << t.abandoned_applied
            << ", absent=" << t.abandoned - t.abandoned_applied << ")\n"
            << "faults: events=" << t.events << " kafka messages=" << t.kafka_messages
            << " timeline entries=" << t.timeline_entries << " customers=" << t.customers << "\n"
            << "faults: duplicates dropped: live journey=" << t.live_duplicates
            << " rebuild=" << t.rebuild_duplicates << " (kafka-level duplicates "
            << t.kafka_duplicates << ")" << std::endl;
}

}  // namespace threadline::testing::faults
