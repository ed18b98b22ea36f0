// The embedded bus against the shared bus conformance suite, plus what only
// an on-disk log can show: data and offsets survive reopening.

#include "threadline/bus/embedded.h"

#include "bus_conformance.h"
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
  ASSERT_OK(pub->Publish({"t", "k0", "again", {}}, [&](const absl::Status& s, int32_t p,
                                                       int64_t off) {
    EXPECT_OK(s);
    partition = p;
    offset = off;
  }));
  ASSERT_OK(pub->Flush(std::chrono::seconds(5)));
  EXPECT_EQ(offset, (*ends)[partition]);
}

TEST(EmbeddedBus, PublishingToAnUnknownTopicIsNotFound) {
  threadline::testing::TempDir dir;
  EmbeddedBusOptions o;
  o.path = (dir.path() / "bus").string();
  auto bus = std::move(*OpenEmbeddedBus(o));
  auto pub = std::move(*bus->NewPublisher());
  EXPECT_EQ(pub->Publish({"nope", "k", "v", {}}, nullptr).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace threadline::bus
