#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace threadline {

using TimePoint = std::chrono::system_clock::time_point;

// Wall clock, injected everywhere time matters so tests control it.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  // The process-wide real clock; never destroyed.
  static Clock& Real();
};

// A clock tests move by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : micros_(ToMicros(start)) {}
  TimePoint Now() const override {
    return TimePoint(std::chrono::microseconds(micros_.load(std::memory_order_acquire)));
  }
  void Set(TimePoint t) { micros_.store(ToMicros(t), std::memory_order_release); }
  void Advance(std::chrono::microseconds d) { micros_.fetch_add(d.count()); }

 private:
  static int64_t ToMicros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> micros_;
};

inline int64_t ToUnixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline TimePoint FromUnixMicros(int64_t us) {
  return TimePoint(std::chrono::microseconds(us));
}

}  // namespace threadline
