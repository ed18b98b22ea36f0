#include "info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

namespace threadline::rocks {

InfoLog::InfoLog(const std::string& dir, rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {
  namespace fs = std::filesystem;
  const fs::path log = fs::path(dir) / "LOG";
  std::error_code ec;
  if (fs::exists(log, ec)) {
    timeval now{};
    gettimeofday(&now, nullptr);
    const uint64_t micros = static_cast<uint64_t>(now.tv_sec) * 1'000'000 + now.tv_usec;
    fs::rename(log, fs::path(dir) / ("LOG.old." + std::to_string(micros)), ec);
  }
  fd_ = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

InfoLog::~InfoLog() { Close().PermitUncheckedError(); }

rocksdb::Status InfoLog::CloseImpl() {
  const int fd = fd_.exchange(-1);
  if (fd >= 0) ::close(fd);
  return rocksdb::Status::OK();
}

void InfoLog::Logv(const char* format, va_list ap) {
  const int fd = fd_.load(std::memory_order_relaxed);
  if (fd < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  timeval now{};
  gettimeofday(&now, nullptr);
  const time_t seconds = now.tv_sec;
  tm t{};
  localtime_r(&seconds, &t);
  char stack[1024];
  int prefix =
      std::snprintf(stack, sizeof stack, "%04d/%02d/%02d-%02d:%02d:%02d.%06d %llx ",
                    t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                    static_cast<int>(now.tv_usec), static_cast<unsigned long long>(pthread_self()));
  if (prefix < 0) prefix = 0;
  va_list copy;
  va_copy(copy, ap);
  const int body = std::vsnprintf(stack + prefix, sizeof stack - prefix, format, copy);
  va_end(copy);
  if (body < 0) return;
  const char* line = stack;
  size_t size = static_cast<size_t>(prefix) + static_cast<size_t>(body);
  std::vector<char> heap;
  if (size + 1 >= sizeof stack) {
    // Option dumps and compaction summaries run long.
    heap.resize(size + 2);
    std::copy(stack, stack + prefix, heap.data());
    std::vsnprintf(heap.data() + prefix, heap.size() - prefix, format, ap);
    line = heap.data();
    if (heap[size - 1] != '\n') heap[size++] = '\n';
  } else if (stack[size - 1] != '\n') {
    stack[size++] = '\n';
  }
  // One write per line, so lines of concurrent threads do not interleave; a
  // short or failed write loses this line only.
  if (::write(fd, line, size) != static_cast<ssize_t>(size)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace threadline::rocks
