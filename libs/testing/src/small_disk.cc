#include "threadline/testing/small_disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace threadline::testing {
namespace {

constexpr char kFiller[] = "filler";

// Runs a shell command; its output goes to the test's stderr.
bool Run(const std::string& command) { return std::system((command + " >&2").c_str()) == 0; }

}  // namespace

SmallDisk::SmallDisk(uint64_t bytes) : mount_(dir_.path() / "disk") {
  std::filesystem::create_directories(mount_);
  const std::string size = "size=" + std::to_string(bytes);
  if (mount("tmpfs", mount_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
            (size + ",mode=0755").c_str()) == 0) {
    kind_ = "tmpfs";
    mounted_ = true;
    return;
  }
  const std::string tmpfs_error = std::strerror(errno);
  // An ext4 image on a loop device: works where only tmpfs is refused.
  const std::string image = (dir_.path() / "disk.img").string();
  if (Run("truncate -s " + std::to_string(bytes) + " '" + image + "'") &&
      Run("mkfs.ext4 -q -F -m 0 '" + image + "'") &&
      Run("mount -o loop '" + image + "' '" + mount_.string() + "'")) {
    kind_ = "ext4 on a loop device";
    mounted_ = true;
    return;
  }
  ADD_FAILURE() << "cannot mount a small filesystem at " << mount_
                << " (this test must run as root): tmpfs: " << tmpfs_error
                << "; ext4 on a loop device: see the mount error above";
}

SmallDisk::~SmallDisk() {
  if (!mounted_) return;
  if (umount2(mount_.c_str(), 0) != 0) {
    // Still busy (a process the test left behind): detach it now, gone once
    // the last user is.
    const int err = errno;
    if (umount2(mount_.c_str(), MNT_DETACH) != 0) {
      ADD_FAILURE() << "cannot unmount " << mount_ << ": " << std::strerror(err);
    }
  }
}

uint64_t SmallDisk::Fill() {
  const std::string filler = (mount_ / kFiller).string();
  const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << filler << ": " << std::strerror(errno);
    return 0;
  }
  std::vector<char> chunk(1 << 20, 'f');
  uint64_t added = 0;
  size_t size = chunk.size();
  // Ever smaller writes, down to one byte, take what a large one leaves.
  while (size > 0) {
    const ssize_t n = ::write(fd, chunk.data(), size);
    if (n > 0) {
      added += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno != ENOSPC && errno != EINTR) {
      ADD_FAILURE() << "filling " << mount_ << ": " << std::strerror(errno);
      break;
    }
    if (n < 0 && errno == EINTR) continue;
    size /= 2;
  }
  ::fsync(fd);
  ::close(fd);
  return added;
}

void SmallDisk::Free() {
  std::error_code ec;
  std::filesystem::remove(mount_ / kFiller, ec);
  if (ec) ADD_FAILURE() << "cannot delete the filler on " << mount_ << ": " << ec.message();
}

uint64_t SmallDisk::FreeBytes() const {
  struct statvfs st {};
  if (statvfs(mount_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace threadline::testing
