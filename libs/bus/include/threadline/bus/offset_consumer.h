#pragma once

// The one way a Threadline consumer reads the bus: offsets are stored by the
// consumer itself, in the same write as the state the messages produced, and
// never committed to the bus.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/common/log.h"

namespace threadline::bus {

// The next offset to read, per partition.
using Offsets = std::map<TopicPartition, int64_t>;

// The offsets stored with the consumer's state. A partition it does not
// name starts at offset 0.
using LoadOffsetsFn = std::function<absl::StatusOr<Offsets>()>;

// Applies one polled batch and stores `next` (for each partition in the
// batch, the offset after its last message) with the batch's effects, so a
// restart resumes exactly after what was applied. Effects stored before an
// error must be harmless when the same messages come again (one atomic
// write, or idempotency keys). Never called with an empty batch.
using ApplyBatchFn =
    std::function<absl::Status(const std::vector<Message>& batch, const Offsets& next)>;

struct OffsetConsumerOptions {
  // Who consumes, for logs ("journey", "installation.reactions"). Default:
  // none (required).
  std::string name;
  // Topics read, every partition of each. Default: none (required).
  std::vector<std::string> topics;
  // Messages per poll, handed to ApplyBatchFn together. Default: 500.
  size_t batch_size = 500;
  // How long one poll waits for its first message. Default: 100 ms.
  std::chrono::milliseconds poll_wait{100};
  // Pause after a failed batch before reading it again. Stop() cuts it
  // short. Default: 200 ms.
  std::chrono::milliseconds retry_backoff{200};
  // A failed batch is logged, at most every 5 s, as "<failure> failed;
  // retrying from the stored offsets" on `log`. Default: "batch" on the
  // "bus.consumer" logger.
  std::string failure = "batch";
  Logger log{"bus.consumer"};
};

struct OffsetConsumerStats {
  uint64_t consumed = 0;  // messages of batches applied
  uint64_t errors = 0;    // failed polls and failed batches
};

// Reads `topics` from the offsets a LoadOffsetsFn returns, hands each
// batch to an ApplyBatchFn, and moves its positions only when that
// succeeded. A failed batch is counted, logged rate-limited, and read again
// from the last stored positions after a back-off.
//
// Lifecycle: Open() assigns the partitions and notes the end offsets of
// that moment (CaughtUp()). Then either Start() runs the loop on a thread of
// its own until Stop(), or CatchUp() runs it on the caller's thread; not
// both at once. The bus must outlive the consumer. CaughtUp(), Positions(),
// Ends() and Stats() are thread-safe.
class OffsetConsumer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OffsetConsumer>> Open(
      Bus* bus, OffsetConsumerOptions options, const LoadOffsetsFn& load, ApplyBatchFn apply);
  ~OffsetConsumer();
  OffsetConsumer(const OffsetConsumer&) = delete;
  OffsetConsumer& operator=(const OffsetConsumer&) = delete;

  void Start();
  // Interrupts a poll or a back-off in progress and joins the thread.
  // Idempotent.
  void Stop();

  // Polls and applies on the calling thread until CaughtUp(), reporting
  // (messages up to the end offsets applied, their total) after each batch.
  // Returns the first error, leaving the positions at the last success.
  [[nodiscard]] absl::Status CatchUp(
      const std::function<void(uint64_t done, uint64_t total)>& progress);

  // True once every partition reached the end offset noted by Open().
  bool CaughtUp() const;
  // The next offset of every assigned partition.
  Offsets Positions() const;
  // The end offsets noted by Open().
  Offsets Ends() const;
  OffsetConsumerStats Stats() const;

 private:
  OffsetConsumer(OffsetConsumerOptions options, ApplyBatchFn apply);
  absl::Status Assign(Bus* bus, const LoadOffsetsFn& load);
  // One poll and its batch; on failure its offsets are not stored.
  absl::Status Step();
  // Re-assigns every partition at its stored position.
  absl::Status Rewind();
  void Loop();

  OffsetConsumerOptions options_;
  ApplyBatchFn apply_;
  std::unique_ptr<Consumer> consumer_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  Offsets next_;               // guarded by mu_
  Offsets ends_;               // set by Open()
  OffsetConsumerStats stats_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  bool rewind_ = false;        // a batch failed; only the polling thread
  std::atomic<bool> running_{false};
  std::thread thread_;
  LogEvery errors_{std::chrono::seconds(5)};
};

}  // namespace threadline::bus
