#include "threadline/common/disk.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace threadline {

absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    return absl::UnavailableError("cannot read the free space of " + path + ": " +
                                  std::strerror(errno));
  }
  DiskSpace d;
  d.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  d.size_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  return d;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

}  // namespace threadline
