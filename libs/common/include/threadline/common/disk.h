#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace threadline {

// Space on the filesystem that holds a path, as statvfs(3) reports it.
struct DiskSpace {
  uint64_t free_bytes = 0;  // available to this process (f_bavail)
  uint64_t size_bytes = 0;  // the filesystem's size (f_blocks)
};

// The space of the filesystem holding `path`. UNAVAILABLE naming the path
// and the reason when statvfs fails (no such directory, permission).
absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path);

// "12.3 MiB", "512 bytes": a byte count for messages to people.
std::string HumanBytes(uint64_t bytes);

}  // namespace threadline
