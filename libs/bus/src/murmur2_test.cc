#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "threadline/bus/bus.h"

namespace threadline::bus {
namespace {

// Java's Utils.murmur2 returns a signed int; compare its bits.
uint32_t Bits(int32_t java_int) { return static_cast<uint32_t>(java_int); }

TEST(Murmur2Test, MatchesKafkaUtilsTestVectors) {
  // The vectors of Kafka's own UtilsTest.testMurmur2.
  EXPECT_EQ(Murmur2("21"), Bits(-973932308));
  EXPECT_EQ(Murmur2("foobar"), Bits(-790332482));
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), Bits(-985981536));
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), Bits(-1486304829));
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), Bits(-58897971));
  EXPECT_EQ(Murmur2("abc"), Bits(479470107));
}

TEST(Murmur2Test, MatchesJavaOnEveryTailLengthAndHighBytes) {
  // Computed with kafka-clients 4.1.1's Utils.murmur2 on the JVM. Bytes >=
  // 0x80 catch sign-extension mistakes (Java bytes are signed, but Kafka
  // masks them with 0xff).
  EXPECT_EQ(Murmur2(""), Bits(275646681));
  EXPECT_EQ(Murmur2("a"), Bits(-1563381124));
  EXPECT_EQ(Murmur2("ab"), Bits(316155434));
  EXPECT_EQ(Murmur2("abcd"), Bits(-1323649548));
  EXPECT_EQ(Murmur2("abcde"), Bits(461995741));
  EXPECT_EQ(Murmur2("abcdefg"), Bits(-346467175));
  EXPECT_EQ(Murmur2(std::string("\xff", 1)), Bits(-311467685));
  EXPECT_EQ(Murmur2(std::string("\xff\x80", 2)), Bits(-442788720));
  EXPECT_EQ(Murmur2(std::string("\xff\x80\x7f", 3)), Bits(968261134));
  EXPECT_EQ(Murmur2(std::string("\x00\xff\x80\xfe\x01", 5)), Bits(1014169169));
  EXPECT_EQ(Murmur2("\xc3\xa9"), Bits(186971271));  // "é" in UTF-8
}

TEST(PartitionForKeyTest, MatchesJavaDefaultPartitioner) {
  // toPositive(murmur2(key)) % n from kafka-clients 4.1.1.
  EXPECT_EQ(PartitionForKey("customer-42", 6), 3);
  EXPECT_EQ(PartitionForKey("customer-42", 12), 9);
  EXPECT_EQ(PartitionForKey("customer-42", 1000), 153);
  EXPECT_EQ(PartitionForKey("0190f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e", 6), 5);
  EXPECT_EQ(PartitionForKey("a", 6), 4);  // negative hash: masked, not negated
  EXPECT_EQ(PartitionForKey("a", 1000), 524);
  EXPECT_EQ(PartitionForKey("abcd", 12), 8);
  EXPECT_EQ(PartitionForKey(std::string("\xff\x80", 2), 1000), 928);
  EXPECT_EQ(PartitionForKey("", 6), 3);
}

TEST(PartitionForKeyTest, StaysInRange) {
  for (int32_t n : {1, 2, 3, 6, 7, 64}) {
    for (int i = 0; i < 1000; ++i) {
      int32_t p = PartitionForKey("key-" + std::to_string(i), n);
      ASSERT_GE(p, 0);
      ASSERT_LT(p, n);
    }
  }
  EXPECT_EQ(PartitionForKey("anything", 0), 0);
}

}  // namespace
}  // namespace threadline::bus
