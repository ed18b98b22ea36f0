// The embedded bus against the shared bus conformance suite, plus what only
// an on-disk log can show: data and offsets survive reopening.

#include <gmock/gmock.h>

#include <filesystem>

#include "bus_conformance.h"
#include "threadline/bus/embedded.h"
#include "threadline/testing/damage.h"
#include "threadline/testing/testing.h"

namespace threadline::bus {
namespace {

using testing::BusConformanceParam;
using testing::BusConformanceTest;

const std::string& SharedDir() {
  // One database for the whole binary: tests use unique topic names, and a
  // reopened bus must see what an earlier one wrote.
  static auto* dir = new threadline::testing::TempDir();
  static const std::string* path = new std::string((dir->path() / "bus").string());
  return *path;
}

std::unique_ptr<Bus> OpenShared() {
  EmbeddedBusOptions o;
  o.path = SharedDir();
  auto bus = OpenEmbeddedBus(o);
  if (!bus.ok()) {
    ADD_FAILURE() << bus.status();
    return nullptr;
  }
  return std::move(*bus);
}

INSTANTIATE_TEST_SUITE_P(Embedded, BusConformanceTest,
                         ::testing::Values(BusConformanceParam{"embedded", &OpenShared,
                                                               "embedded"}),
                         BusConformanceParam::Name);

TEST(EmbeddedBus, MessagesAndEndOffsetsSurviveReopening) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  {
    auto bus = std::move(*OpenEmbeddedBus(o));
    ASSERT_OK(bus->EnsureTopics({{"t", 2}}));
    auto pub = std::move(*bus->NewPublisher());
    for (int i = 0; i < 10; ++i) {
      ASSERT_OK(pub->Publish({"t", "k" + std::to_string(i), "v" + std::to_string(i), {}}, nullptr));
    }
    ASSERT_OK(pub->Flush(std::chrono::seconds(5)));
  }
  auto bus = std::move(*OpenEmbeddedBus(o));
  auto ends = bus->EndOffsets("t");
  ASSERT_OK(ends);
  EXPECT_EQ((*ends)[0] + (*ends)[1], 10);
  // New messages continue each partition's offsets.
  auto pub = std::move(*bus->NewPublisher());
  int32_t partition = -1;
  int64_t offset = -1;
  ASSERT_OK(
      pub->Publish({"t", "k0", "again", {}}, [&](const absl::Status& s, int32_t p, int64_t off) {
        EXPECT_OK(s);
        partition = p;
        offset = off;
      }));
  ASSERT_OK(pub->Flush(std::chrono::seconds(5)));
  EXPECT_EQ(offset, (*ends)[partition]);
}

// 40 messages, published and acknowledged, in a closed bus at `path`.
void PublishForty(const EmbeddedBusOptions& o) {
  auto bus = OpenEmbeddedBus(o);
  ASSERT_OK(bus);
  ASSERT_OK((*bus)->EnsureTopics({{"t", 2}}));
  auto pub = std::move(*(*bus)->NewPublisher());
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(pub->Publish({"t", "k" + std::to_string(i), std::string(200, 'v'), {}}, nullptr));
  }
  ASSERT_OK(pub->Flush(std::chrono::seconds(5)));
}

void ExpectRefused(const EmbeddedBusOptions& o, const std::string& file_hint) {
  auto bus = OpenEmbeddedBus(o);
  ASSERT_FALSE(bus.ok()) << "a damaged bus opened";
  EXPECT_EQ(bus.status().code(), absl::StatusCode::kDataLoss) << bus.status();
  EXPECT_THAT(std::string(bus.status().message()),
              ::testing::HasSubstr("embedded bus at " + o.path));
  EXPECT_THAT(std::string(bus.status().message()), ::testing::HasSubstr(file_hint));
}

TEST(EmbeddedBus, ADamagedWriteAheadLogIsRefusedNotCutShort) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  o.sync = false;  // the log file gets every write; only the fsync is saved
  PublishForty(o);
  auto logs =
      threadline::testing::StoreFiles(o.path, threadline::testing::StoreFile::kWriteAheadLog);
  ASSERT_FALSE(logs.empty());
  // Point-in-time recovery would keep the first half and drop the rest.
  threadline::testing::FlipBytes(logs[0], std::filesystem::file_size(logs[0]) / 2);
  ExpectRefused(o, logs[0].filename().string());
}

TEST(EmbeddedBus, ADamagedManifestIsRefusedWhereverItIsHit) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  o.sync = false;
  for (int tenth = 1; tenth < 10; ++tenth) {
    SCOPED_TRACE("flip at " + std::to_string(tenth) + "/10 of the MANIFEST");
    std::filesystem::remove_all(o.path);
    PublishForty(o);
    auto manifests =
        threadline::testing::StoreFiles(o.path, threadline::testing::StoreFile::kManifest);
    ASSERT_EQ(manifests.size(), 1u);
    threadline::testing::FlipBytes(manifests[0],
                                   std::filesystem::file_size(manifests[0]) * tenth / 10);
    ExpectRefused(o, "MANIFEST-");
  }
}

TEST(EmbeddedBus, ADamagedTableIsRefused) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  o.sync = false;
  PublishForty(o);
  { ASSERT_OK(OpenEmbeddedBus(o)); }  // recovery flushes the log into a table
  auto tables = threadline::testing::StoreFiles(o.path, threadline::testing::StoreFile::kTable);
  ASSERT_FALSE(tables.empty());
  threadline::testing::FlipBytes(tables[0], std::filesystem::file_size(tables[0]) - 200);
  ExpectRefused(o, tables[0].filename().string());
}

TEST(EmbeddedBus, PublishingToAnUnknownTopicIsNotFound) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  auto bus = std::move(*OpenEmbeddedBus(o));
  auto pub = std::move(*bus->NewPublisher());
  EXPECT_EQ(pub->Publish({"nope", "k", "v", {}}, nullptr).code(), absl::StatusCode::kNotFound);
}

// Topics that consumers join by partition must have the same count; the
// message names the two that differ.
TEST(EmbeddedBus, TopicsWithDifferentPartitionCountsAreNotCoPartitioned) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  auto bus = std::move(*OpenEmbeddedBus(o));
  ASSERT_OK(bus->EnsureTopics({{"a", 6, {}}, {"b", 6, {}}, {"c", 3, {}}}));
  EXPECT_OK(CheckSamePartitions(*bus, {"a", "b"}));
  auto s = CheckSamePartitions(*bus, {"a", "b", "c"});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("a has 6 partitions and c has 3"));
  EXPECT_EQ(CheckSamePartitions(*bus, {"a", "missing"}).code(), absl::StatusCode::kNotFound);
  // The embedded bus keeps everything and has no settings to report.
  EXPECT_TRUE(bus->TopicConfigs("a")->empty());
}

}  // namespace
}  // namespace threadline::bus
