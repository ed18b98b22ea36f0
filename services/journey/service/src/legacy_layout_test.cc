// A journey store written by a build before column families (layout 1:
// every key family in the default column family under a two-character
// prefix) opens in this build: it is converted in place, keeps its offsets,
// sequence numbers and resume tokens, and fingerprints as a fresh rebuild
// of the same events does. The old store is written here key by key, as the
// old projector wrote it, independently of keyspace.h.

#include <gmock/gmock.h>
#include <rocksdb/db.h>

#include <thread>
#include <tuple>

#include "test_events.h"
#include "threadline/bus/embedded.h"
#include "threadline/common/coding.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projection.h"
#include "threadline/journey/projector.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

using journey_testing::Contact;
using journey_testing::Event;
using journey_testing::kCustomer;
using journey_testing::kT0;
using journey_testing::Registered;
using journey_testing::TimelineIds;
constexpr int32_t kPartitions = 3;

std::string BE64(uint64_t v) { return coding::Fixed64Key(v); }

class LegacyLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = journey_testing::OpenTestBus(dir_.path(), kPartitions);
    ASSERT_NE(bus_, nullptr);
    publisher_ = std::move(*bus_->NewPublisher());
  }

  void Publish(const v1::EventEnvelope& e) {
    ASSERT_OK(publisher_->Publish(outbox::ToMessage(e, "threadline.sales.v1"), nullptr));
    ASSERT_OK(publisher_->Flush(std::chrono::seconds(10)));
  }

  std::unique_ptr<Projector> Open(const std::string& name) {
    ProjectorOptions o;
    o.path = (dir_.path() / name).string();
    o.publish = false;
    o.poll_wait = std::chrono::milliseconds(20);
    auto p = Projector::Open(o, bus_.get());
    EXPECT_OK(p);
    return p.ok() ? std::move(*p) : nullptr;
  }

  // What the old projector stored after consuming `arrived` (in that order,
  // one batch) from the sales topic: every key in the default column family.
  void WriteLayout1Store(const std::string& name, const std::vector<v1::EventEnvelope>& arrived) {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, (dir_.path() / name).string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    auto put = [&](const std::string& k, const std::string& v) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), k, v).ok());
    };
    const std::string customer_key = std::string(kCustomer) + '\0';
    std::map<std::string, v1::EventEnvelope> in_order;
    uint64_t seq = 0;
    for (const auto& e : arrived) {
      std::string order =
          BE64(static_cast<uint64_t>(ToUnixMicros(domain::FromProto(e.occurred_at()))) ^
               (1ULL << 63)) +
          e.event_id();
      in_order[order] = e;
      v1::TimelineEntry entry = ToEntry(e);
      entry.set_sequence(++seq);
      v1::JourneyUpdate update;
      update.set_resume_token(std::to_string(seq));
      *update.mutable_entry() = entry;
      put("s/" + e.event_id(), "");
      put("e/" + customer_key + order, e.SerializeAsString());
      put("t/" + customer_key + order, entry.SerializeAsString());
      put("f/" + BE64(seq), update.SerializeAsString());
      if (e.has_customer_registered()) {
        put("i/p/+31612345678", kCustomer);
        put(std::string("i/r/87654321613") + '\0' + kCustomer, "");
        put("i/e/anna@example.org", kCustomer);
        put(std::string("i/n/anna de vries") + '\0' + kCustomer, "");
      }
    }
    v1::CustomerContext card;
    for (const auto& [order, e] : in_order) ApplyToCard(e, card);
    put("c/" + std::string(kCustomer), card.SerializeAsString());
    std::string offset_key = std::string("o/threadline.sales.v1") + '\0';
    coding::PutFixed32BE(offset_key,
                         static_cast<uint32_t>(bus::PartitionForKey(kCustomer, kPartitions)));
    put(offset_key, BE64(arrived.size()));
    put("m/seq", BE64(seq));
    put("m/pub", BE64(seq));
    ASSERT_TRUE(db->Close().ok());
  }

  // Keys of the default column family that start with `prefix`.
  size_t DefaultFamilyKeys(const std::string& name, const std::string& prefix) {
    rocksdb::DBOptions o;
    std::vector<std::string> families;
    const std::string path = (dir_.path() / name).string();
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(o, path, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(o, path, descriptors, &handles, &raw).ok());
    size_t n = 0;
    {
      std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    }
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
};

TEST_F(LegacyLayoutTest, AnOldStoreIsConvertedInPlaceAndResumesWhereItStopped) {
  const std::vector<v1::EventEnvelope> arrived = {Registered(0, "e0"), Contact(20, "e2"),
                                                  Contact(10, "e1")};
  for (const auto& e : arrived) Publish(e);
  auto rebuilt = Open("rebuilt");
  ASSERT_OK(rebuilt->CatchUp(nullptr));
  auto expected = rebuilt->Fingerprint({});
  ASSERT_OK(expected);

  WriteLayout1Store("old", arrived);
  auto p = Open("old");
  ASSERT_NE(p, nullptr);
  // Nothing left under the old prefixes; the meta keys stay.
  for (const char* prefix : {"c/", "e/", "f/", "i/", "s/", "t/"}) {
    EXPECT_EQ(DefaultFamilyKeys("old", prefix), 0u) << prefix;
  }
  EXPECT_EQ(DefaultFamilyKeys("old", "o/"), 1u);
  EXPECT_EQ(*p->Fingerprint({}), *expected);
  EXPECT_EQ(expected->substr(0, 2), "3:");

  // Offsets and the journey sequence were kept: nothing is read again.
  EXPECT_TRUE(p->CaughtUp());
  EXPECT_EQ(p->Stats().sequence, 3u);
  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e1", "e2"}));
  auto card = p->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), "Anna de Vries");
  EXPECT_EQ(card->timeline_length(), 3u);
  for (const std::string q : {"06-1234 5678", "+31612345678", "anna@example.org", "anna d"}) {
    v1::FindCustomerRequest r;
    r.set_query(q);
    auto found = p->FindCustomer(r);
    ASSERT_OK(found);
    ASSERT_EQ(found->matches_size(), 1) << q;
    EXPECT_EQ(found->matches(0).customer_id(), kCustomer) << q;
  }

  // A resume token handed out by the old build still resumes after its entry.
  ASSERT_OK(p->Start());
  v1::SubscribeJourneyRequest r;
  r.set_resume_token("2");
  std::vector<std::string> resumed;
  ASSERT_OK(p->Subscribe(
      r,
      [&](const v1::JourneyUpdate& u) {
        resumed.push_back(u.entry().event_id());
        return false;
      },
      [] { return false; }, 100));
  EXPECT_EQ(resumed, (std::vector<std::string>{"e1"}));

  // New events land after the converted ones.
  Publish(Contact(30, "e3"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 4; }));
  EXPECT_EQ(p->Stats().consumed, 1u);
  EXPECT_EQ(p->Stats().sequence, 4u);
  auto live = p->Fingerprint({});
  p.reset();

  // The converted store opens again as it is.
  auto reopened = Open("old");
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(*reopened->Fingerprint({}), *live);
  EXPECT_EQ(reopened->Stats().sequence, 4u);
}

// A conversion cut short leaves some keys moved and the rest where they
// were; the next open goes on and ends with the same store.
TEST_F(LegacyLayoutTest, AnInterruptedConversionFinishesAtTheNextOpen) {
  const std::vector<v1::EventEnvelope> arrived = {Registered(0, "e0"), Contact(5, "e1")};
  for (const auto& e : arrived) Publish(e);
  auto rebuilt = Open("rebuilt");
  ASSERT_OK(rebuilt->CatchUp(nullptr));
  WriteLayout1Store("old", arrived);
  {
    rocksdb::Options o;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, (dir_.path() / "old").string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    // Moved: the card. Copied but not yet deleted: the first timeline entry.
    for (const auto& [prefix, family, remove] :
         {std::tuple{"c/", "cards", true}, std::tuple{"t/", "timeline", false}}) {
      rocksdb::ColumnFamilyHandle* h = nullptr;
      ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), family, &h).ok());
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
      it->Seek(prefix);
      ASSERT_TRUE(it->Valid() && it->key().starts_with(prefix));
      rocksdb::WriteBatch move;
      ASSERT_TRUE(move.Put(h, it->key().ToString().substr(2), it->value()).ok());
      if (remove) {
        ASSERT_TRUE(move.Delete(it->key()).ok());
      }
      it.reset();
      ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &move).ok());
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  auto p = Open("old");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p->Fingerprint({}), *rebuilt->Fingerprint({}));
  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e1"}));
  EXPECT_EQ(DefaultFamilyKeys("old", "t/"), 0u);
}

TEST_F(LegacyLayoutTest, AStoreFromANewerLayoutIsRefusedWithWhatToDo) {
  {
    auto p = Open("newer");
    ASSERT_NE(p, nullptr);
  }
  {
    rocksdb::DBOptions o;
    std::vector<std::string> families;
    const std::string path = (dir_.path() / "newer").string();
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, path, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    // A family this build does not know, as a later layout might add.
    o.create_missing_column_families = true;
    descriptors.emplace_back("later", rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, path, descriptors, &handles, &raw).ok());
    std::string marker;
    coding::PutFixed32BE(marker, 3);
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "m/layout", marker).ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(raw->Close().ok());
    delete raw;
  }
  ProjectorOptions o;
  o.path = (dir_.path() / "newer").string();
  auto p = Projector::Open(o, bus_.get());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(p.status().message()), ::testing::HasSubstr("layout 3"));
  EXPECT_THAT(std::string(p.status().message()),
              ::testing::HasSubstr("threadline journey rebuild"));
}

}  // namespace
}  // namespace threadline::journey
