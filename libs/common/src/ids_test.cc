#include "threadline/common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace threadline {
namespace {

TEST(Ids, UuidV7HasVersionAndVariant) {
  std::string id = NewUuidV7();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
}

TEST(Ids, SortInCreationOrderEvenWithinOneMillisecond) {
  ManualClock clock(FromUnixMicros(1'700'000'000'000'000));
  std::string prev = NewUuidV7(clock);
  std::set<std::string> seen{prev};
  for (int i = 0; i < 10000; ++i) {
    std::string next = NewUuidV7(clock);
    EXPECT_LT(prev, next);
    EXPECT_TRUE(seen.insert(next).second);
    prev = next;
  }
}

TEST(Ids, PrefixedIdShape) {
  std::string id = NewId("cus");
  EXPECT_TRUE(HasIdShape(id, "cus")) << id;
  EXPECT_FALSE(HasIdShape(id, "ord"));
  EXPECT_FALSE(HasIdShape("cus_xyz", "cus"));
  EXPECT_FALSE(HasIdShape("", "cus"));
}

}  // namespace
}  // namespace threadline
