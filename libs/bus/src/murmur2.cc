// Kafka's default partitioner, bit for bit: Utils.murmur2 (MurmurHash2,
// 32 bit, seed 0x9747b28c) and toPositive(h) % partitions. Java computes on
// signed ints; unsigned arithmetic here gives the same bits without signed
// overflow. Tested against vectors from Kafka's own UtilsTest and from
// kafka-clients 4.1.1 (murmur2_test.cc).

#include <cstdint>
#include <string_view>

#include "threadline/bus/bus.h"

namespace threadline::bus {

uint32_t Murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kMul = 0x5bd1e995;
  constexpr int kShift = 24;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t length = data.size();

  // Java's length is an int; keys longer than 2 GiB do not exist here.
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t whole = length / 4;
  for (size_t i = 0; i < whole; ++i) {
    const unsigned char* p = bytes + 4 * i;
    // Little-endian words whatever the host's byte order.
    uint32_t k = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                 static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    k *= kMul;
    k ^= k >> kShift;
    k *= kMul;
    h *= kMul;
    h ^= k;
  }

  const unsigned char* tail = bytes + 4 * whole;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(tail[0]);
      h *= kMul;
      break;
    default:
      break;
  }

  h ^= h >> 13;
  h *= kMul;
  h ^= h >> 15;
  return h;
}

int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  if (partitions <= 0) return 0;
  // toPositive() masks the sign bit (it is not abs()).
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

}  // namespace threadline::bus
