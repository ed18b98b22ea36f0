#include "bus_conformance.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "threadline/testing/testing.h"

namespace threadline::bus::testing {
namespace {

using namespace std::chrono_literals;
using threadline::testing::WaitFor;

// Generous: a loaded 2-core CI machine with a JVM broker on it.
constexpr auto kDeadline = std::chrono::milliseconds(30s);

struct Delivery {
  absl::Status status;
  int32_t partition = -1;
  int64_t offset = -1;
  int calls = 0;
};

// Publishes `messages` and waits for every delivery report; deliveries[i]
// belongs to messages[i]. `order` receives the indexes in callback order.
void PublishAll(Publisher& publisher, const std::vector<OutMessage>& messages,
                std::vector<Delivery>* deliveries, std::vector<size_t>* order = nullptr) {
  auto mu = std::make_shared<std::mutex>();
  auto results = std::make_shared<std::vector<Delivery>>(messages.size());
  auto seen = std::make_shared<std::vector<size_t>>();
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_OK(publisher.Publish(
        messages[i],
        [mu, results, seen, i](const absl::Status& status, int32_t partition, int64_t offset) {
          std::lock_guard<std::mutex> lock(*mu);
          Delivery& d = (*results)[i];
          d.status = status;
          d.partition = partition;
          d.offset = offset;
          ++d.calls;
          seen->push_back(i);
        }));
  }
  ASSERT_OK(publisher.Flush(kDeadline));
  std::lock_guard<std::mutex> lock(*mu);
  *deliveries = *results;
  if (order != nullptr) *order = *seen;
  for (size_t i = 0; i < deliveries->size(); ++i) {
    ASSERT_EQ((*deliveries)[i].calls, 1) << "message " << i;
    ASSERT_OK((*deliveries)[i].status) << "message " << i;
  }
}

void AssignAll(Consumer& consumer, const std::string& topic, int32_t partitions,
               int64_t offset = 0) {
  std::vector<PartitionStart> starts;
  for (int32_t p = 0; p < partitions; ++p) starts.push_back({{topic, p}, offset});
  ASSERT_OK(consumer.Assign(starts));
}

// Polls until `n` messages arrived or the deadline passed.
std::vector<Message> ReadN(Consumer& consumer, size_t n, size_t batch = 100) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto got = consumer.Poll(batch, 200ms);
    if (!got.ok()) {
      // Transient errors (a broker hiccup) are retried like a service would.
      EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
      if (!absl::IsUnavailable(got.status())) break;
      continue;
    }
    EXPECT_LE(got->size(), batch);
    for (auto& m : *got) out.push_back(std::move(m));
  }
  return out;
}

// Expects nothing more to arrive within `quiet`.
void ExpectNoMore(Consumer& consumer, std::chrono::milliseconds quiet = 500ms) {
  auto got = consumer.Poll(100, quiet);
  ASSERT_OK(got);
  EXPECT_TRUE(got->empty()) << got->size() << " unexpected messages, first at " << (*got)[0].topic
                            << "/" << (*got)[0].partition << "@" << (*got)[0].offset;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

}  // namespace

std::string UniqueTopicPrefix(std::string_view base) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::string(base) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

void BusConformanceTest::SetUp() {
  ASSERT_TRUE(GetParam().factory) << "BusConformanceParam.factory is empty";
  bus_ = GetParam().factory();
  ASSERT_NE(bus_, nullptr) << "the factory returned no bus";
}

void BusConformanceTest::TearDown() { bus_.reset(); }

std::string BusConformanceTest::Topic(std::string_view tag) const {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = info->name();
  // "PerKeyOrder/kafka" → "PerKeyOrder": topic names allow [a-zA-Z0-9._-].
  test = test.substr(0, test.find('/'));
  return GetParam().topic_prefix + "." + test + "." + std::string(tag);
}

void BusConformanceTest::MakeTopic(std::string_view tag, int32_t partitions, std::string* name) {
  *name = Topic(tag);
  ASSERT_OK(bus_->EnsureTopics({{*name, partitions}}));
}

TEST_P(BusConformanceTest, PerKeyOrderAcrossManyKeysAndPartitions) {
  constexpr int32_t kPartitions = 4;
  constexpr int kKeys = 40;
  constexpr int kPerKey = 25;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("orders", kPartitions, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);

  // Interleaved: key 0 #0, key 1 #0, ..., key 0 #1, ...
  std::vector<OutMessage> messages;
  for (int seq = 0; seq < kPerKey; ++seq) {
    for (int k = 0; k < kKeys; ++k) {
      messages.push_back({topic,
                          "customer-" + std::to_string(k),
                          std::to_string(seq),
                          {{"seq", std::to_string(seq)}}});
    }
  }
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));

  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, kPartitions));
  auto got = ReadN(**consumer, messages.size());
  ASSERT_EQ(got.size(), messages.size());

  std::map<std::string, int> next_seq;
  std::map<int32_t, int64_t> last_offset;
  std::set<int32_t> used;
  for (const Message& m : got) {
    EXPECT_EQ(m.topic, topic);
    EXPECT_EQ(m.partition, PartitionForKey(m.key, kPartitions)) << m.key;
    EXPECT_EQ(m.value, std::to_string(next_seq[m.key])) << "key " << m.key << " out of order";
    next_seq[m.key] = std::stoi(m.value) + 1;
    auto it = last_offset.find(m.partition);
    if (it != last_offset.end()) {
      EXPECT_GT(m.offset, it->second);
    }
    last_offset[m.partition] = m.offset;
    used.insert(m.partition);
  }
  EXPECT_EQ(next_seq.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, seq] : next_seq) EXPECT_EQ(seq, kPerKey) << key;
  // 40 keys over 4 partitions: a partitioner that always picks one partition fails here.
  EXPECT_EQ(used.size(), static_cast<size_t>(kPartitions));
  ASSERT_NO_FATAL_FAILURE(ExpectNoMore(**consumer));
}

TEST_P(BusConformanceTest, PartitionIsPartitionForKey) {
  constexpr int32_t kPartitions = 6;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("keys", kPartitions, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::vector<OutMessage> messages;
  for (int i = 0; i < 60; ++i) {
    messages.push_back({topic, "0190f3a2-7c1e-7b3a-9d2e-" + std::to_string(100000 + i), "v", {}});
  }
  messages.push_back({topic, "customer-42", "v", {}});  // 3 of 6 in Java's partitioner
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(deliveries[i].partition, PartitionForKey(messages[i].key, kPartitions))
        << messages[i].key;
  }
  EXPECT_EQ(deliveries.back().partition, 3);
}

TEST_P(BusConformanceTest, ResumesFromStoredOffsetsWithoutLossOrRepeats) {
  constexpr int32_t kPartitions = 3;
  constexpr size_t kTotal = 90;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("resume", kPartitions, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::vector<OutMessage> messages;
  for (size_t i = 0; i < kTotal; ++i) {
    messages.push_back({topic, "k" + std::to_string(i % 17), "m" + std::to_string(i), {}});
  }
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));

  // First consumer: takes part of the stream, in small batches, and "stores"
  // the next offset of every partition it read.
  std::map<int32_t, int64_t> next;
  std::set<std::pair<int32_t, int64_t>> seen;
  {
    auto first = bus_->NewConsumer();
    ASSERT_OK(first);
    ASSERT_NO_FATAL_FAILURE(AssignAll(**first, topic, kPartitions));
    auto got = ReadN(**first, 40, /*batch=*/7);
    ASSERT_GE(got.size(), 40u);
    ASSERT_LT(got.size(), kTotal);
    for (const Message& m : got) {
      EXPECT_TRUE(seen.insert({m.partition, m.offset}).second) << "repeated " << m.offset;
      next[m.partition] = m.offset + 1;
    }
  }

  auto second = bus_->NewConsumer();
  ASSERT_OK(second);
  std::vector<PartitionStart> starts;
  for (int32_t p = 0; p < kPartitions; ++p) starts.push_back({{topic, p}, next[p]});
  ASSERT_OK((*second)->Assign(starts));
  const size_t rest = kTotal - seen.size();
  auto got = ReadN(**second, rest);
  ASSERT_EQ(got.size(), rest);
  std::map<int32_t, bool> first_of_partition;
  for (const Message& m : got) {
    if (!first_of_partition[m.partition]) {
      EXPECT_EQ(m.offset, next[m.partition]) << "partition " << m.partition << " did not resume "
                                             << "at the stored offset";
      first_of_partition[m.partition] = true;
    }
    EXPECT_TRUE(seen.insert({m.partition, m.offset}).second)
        << "repeated " << m.partition << "@" << m.offset;
  }
  EXPECT_EQ(seen.size(), kTotal);
  // Every delivered (partition, offset) was read exactly once.
  for (const Delivery& d : deliveries) EXPECT_TRUE(seen.count({d.partition, d.offset}));
  ASSERT_NO_FATAL_FAILURE(ExpectNoMore(**second));
}

TEST_P(BusConformanceTest, KeysValuesAndHeadersRoundTripAsBytes) {
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("bytes", 1, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  const std::string binary_key = Bytes({0x00, 0xff, 0x80, 0x7f, 0x00, 0x01});
  const std::string binary_value = Bytes({0x0a, 0x00, 0xc3, 0xa9, 0xff, 0x00});
  std::vector<OutMessage> messages = {
      {topic,
       binary_key,
       binary_value,
       {{"event-type", "OrderPlaced"},
        {"schema", "1"},
        {"schema", "2"},  // repeated names are kept, in order
        {"blob", Bytes({0x00, 0xfe, 0x00})},
        {"empty", ""}}},
      {topic, "k-empty-value", "", {}},
      {topic, "k-big", std::string(256 * 1024, 'x'), {{"h", "v"}}},
  };
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));

  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, 1));
  auto got = ReadN(**consumer, messages.size());
  ASSERT_EQ(got.size(), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    EXPECT_EQ(got[i].key, messages[i].key);
    EXPECT_EQ(got[i].value, messages[i].value);
    EXPECT_EQ(got[i].headers, messages[i].headers);
    EXPECT_EQ(got[i].offset, deliveries[i].offset);
    EXPECT_GT(got[i].timestamp_ms, 0);
  }
  EXPECT_EQ(got[0].HeaderValue("schema"), "1");
  EXPECT_EQ(got[0].HeaderValue("event-type"), "OrderPlaced");
  EXPECT_EQ(got[0].HeaderValue("missing"), "");
}

TEST_P(BusConformanceTest, PollReturnsEmptyAfterTimeoutWithoutData) {
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("idle", 2, &topic));
  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, 2));
  const auto start = std::chrono::steady_clock::now();
  auto got = (*consumer)->Poll(10, 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_OK(got);
  EXPECT_TRUE(got->empty());
  EXPECT_GE(took, 250ms) << "Poll returned before its timeout without data";
  EXPECT_LT(took, 10s);
}

TEST_P(BusConformanceTest, PollBatchesWhatIsAvailableUpToMax) {
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("batches", 1, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::vector<OutMessage> messages;
  for (int i = 0; i < 50; ++i) messages.push_back({topic, "k", std::to_string(i), {}});
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));

  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, 1));
  size_t total = 0;
  size_t largest = 0;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (total < messages.size() && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*consumer)->Poll(10, 1s);
    ASSERT_OK(batch);
    ASSERT_LE(batch->size(), 10u);
    for (const Message& m : *batch) EXPECT_EQ(m.value, std::to_string(total++));
    largest = std::max(largest, batch->size());
  }
  EXPECT_EQ(total, messages.size());
  // Everything was already published: a poll that returns one message at a
  // time (not taking what is available) fails this.
  EXPECT_EQ(largest, 10u);
}

TEST_P(BusConformanceTest, WakeInterruptsPoll) {
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("wake", 1, &topic));
  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, 1));
  Consumer* c = consumer->get();

  std::atomic<bool> returned{false};
  absl::StatusOr<std::vector<Message>> result;
  const auto start = std::chrono::steady_clock::now();
  std::thread poller([&] {
    result = c->Poll(10, 20s);
    returned = true;
  });
  // Wake until the poll returns: one Wake may land before Poll starts waiting.
  const bool woke = WaitFor(
      [&] {
        c->Wake();
        return returned.load();
      },
      10s);
  poller.join();  // at worst after Poll's own 20 s timeout
  EXPECT_TRUE(woke) << "Wake() did not interrupt Poll() within 10 s";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ASSERT_OK(result);
  EXPECT_TRUE(result->empty());
}

TEST_P(BusConformanceTest, EndOffsetsCountMessagesPerPartition) {
  constexpr int32_t kPartitions = 3;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("ends", kPartitions, &topic));
  auto empty = bus_->EndOffsets(topic);
  ASSERT_OK(empty);
  EXPECT_EQ(*empty, std::vector<int64_t>(kPartitions, 0));

  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::vector<OutMessage> messages;
  std::vector<int64_t> expected(kPartitions, 0);
  for (int i = 0; i < 50; ++i) {
    std::string key = "c" + std::to_string(i);
    ++expected[PartitionForKey(key, kPartitions)];
    messages.push_back({topic, key, "v", {}});
  }
  std::vector<Delivery> deliveries;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries));
  auto ends = bus_->EndOffsets(topic);
  ASSERT_OK(ends);
  EXPECT_EQ(*ends, expected);
  for (const Delivery& d : deliveries) EXPECT_LT(d.offset, (*ends)[d.partition]);

  if (!GetParam().creates_missing_topics) {
    EXPECT_TRUE(absl::IsNotFound(bus_->EndOffsets(Topic("never-created")).status()));
  }
}

TEST_P(BusConformanceTest, EnsureTopicsIsIdempotent) {
  const std::string a = Topic("a");
  const std::string b = Topic("b");
  ASSERT_OK(bus_->EnsureTopics({{a, 3}}));
  ASSERT_OK(bus_->EnsureTopics({{a, 3}}));
  ASSERT_OK(bus_->EnsureTopics({{a, 3}, {b, 5}}));
  auto pa = bus_->PartitionCount(a);
  auto pb = bus_->PartitionCount(b);
  ASSERT_OK(pa);
  ASSERT_OK(pb);
  EXPECT_EQ(*pa, 3);
  EXPECT_EQ(*pb, 5);
  ASSERT_OK(bus_->EnsureTopics({}));

  // A new connection sees the same topics.
  bus_.reset();
  bus_ = GetParam().factory();
  ASSERT_NE(bus_, nullptr);
  ASSERT_OK(bus_->EnsureTopics({{a, 3}, {b, 5}}));
  pb = bus_->PartitionCount(b);
  ASSERT_OK(pb);
  EXPECT_EQ(*pb, 5);
}

TEST_P(BusConformanceTest, UnknownTopicsAreNotFound) {
  EXPECT_TRUE(absl::IsInvalidArgument(bus_->EnsureTopics({{Topic("zero"), 0}})));
  if (GetParam().creates_missing_topics) GTEST_SKIP() << "the backend creates missing topics";
  const std::string missing = Topic("missing");
  EXPECT_TRUE(absl::IsNotFound(bus_->PartitionCount(missing).status()));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  bool called = false;
  absl::Status s =
      (*publisher)->Publish({missing, "k", "v", {}}, [&](const absl::Status&, int32_t, int64_t) {
        called = true;
      });
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  ASSERT_OK((*publisher)->Flush(kDeadline));
  EXPECT_FALSE(called) << "a rejected Publish must not call its callback";
}

TEST_P(BusConformanceTest, DeliveryCallbacksOncePerMessageInPartitionOrder) {
  constexpr int32_t kPartitions = 4;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("deliveries", kPartitions, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::vector<OutMessage> messages;
  for (int i = 0; i < 400; ++i) {
    messages.push_back({topic, "key-" + std::to_string(i % 31), std::to_string(i), {}});
  }
  std::vector<Delivery> deliveries;
  std::vector<size_t> order;
  ASSERT_NO_FATAL_FAILURE(PublishAll(**publisher, messages, &deliveries, &order));
  ASSERT_EQ(order.size(), messages.size());  // once each (PublishAll checks calls == 1)

  // In callback order, offsets of a partition increase by exactly one from 0
  // and follow publish order.
  std::map<int32_t, int64_t> next_offset;
  std::map<int32_t, size_t> last_index;
  for (size_t i : order) {
    const Delivery& d = deliveries[i];
    EXPECT_EQ(d.partition, PartitionForKey(messages[i].key, kPartitions));
    EXPECT_EQ(d.offset, next_offset[d.partition]) << "partition " << d.partition;
    next_offset[d.partition] = d.offset + 1;
    auto it = last_index.find(d.partition);
    if (it != last_index.end()) {
      EXPECT_GT(i, it->second) << "callbacks out of publish order";
    }
    last_index[d.partition] = i;
  }
}

TEST_P(BusConformanceTest, ConcurrentPublishersKeepPerThreadKeyOrder) {
  constexpr int32_t kPartitions = 3;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::string topic;
  ASSERT_NO_FATAL_FAILURE(MakeTopic("concurrent", kPartitions, &topic));
  auto publisher = bus_->NewPublisher();
  ASSERT_OK(publisher);
  std::atomic<int> failures{0};
  std::atomic<int> delivered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status s =
            (*publisher)
                ->Publish({topic, "thread-" + std::to_string(t), std::to_string(i), {}},
                          [&](const absl::Status& st, int32_t, int64_t) {
                            if (!st.ok()) ++failures;
                            ++delivered;
                          });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_OK((*publisher)->Flush(kDeadline));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(delivered.load(), kThreads * kPerThread);

  auto consumer = bus_->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_NO_FATAL_FAILURE(AssignAll(**consumer, topic, kPartitions));
  auto got = ReadN(**consumer, kThreads * kPerThread);
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kPerThread));
  std::map<std::string, int> next;
  for (const Message& m : got) {
    EXPECT_EQ(m.value, std::to_string(next[m.key])) << m.key;
    next[m.key] = std::stoi(m.value) + 1;
  }
}

// Suites instantiated only for some implementations must not fail the others.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BusConformanceTest);

}  // namespace threadline::bus::testing
