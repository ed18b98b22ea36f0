#pragma once

// A small filesystem of a test's own, to fill up: a disk-full test must not
// fill the machine's disk, nor depend on how full it is.

#include <cstdint>
#include <filesystem>
#include <string>

#include "threadline/testing/testing.h"

namespace threadline::testing {

// Mounts a filesystem of `bytes` on a fresh directory: tmpfs, or, where
// tmpfs may not be mounted, an ext4 image on a loop device. Needs root (CI
// runs as root). When neither can be mounted the test fails (ADD_FAILURE
// naming both reasons), it is not skipped: check mounted() and stop.
// Unmounted on destruction, even after a failed assertion; destroy it after
// every process that uses it (declare it first). One thread at a time.
class SmallDisk {
 public:
  explicit SmallDisk(uint64_t bytes = 32 << 20);
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  // "tmpfs" or "ext4 on a loop device".
  const std::string& kind() const { return kind_; }
  // The mount point.
  const std::filesystem::path& path() const { return mount_; }

  // Takes every free byte with a filler file (appending to it on a second
  // call, for space freed since). Returns the bytes it added.
  uint64_t Fill();
  // Deletes the filler.
  void Free();
  // Bytes free now (statvfs f_bavail).
  uint64_t FreeBytes() const;

 private:
  TempDir dir_;  // holds the mount point and, for a loop device, the image
  std::filesystem::path mount_;
  std::string kind_;
  bool mounted_ = false;
};

}  // namespace threadline::testing
