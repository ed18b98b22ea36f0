#pragma once

// The open server streams of one GrpcServer: the limits on how many may be
// open, the few threads that pull their messages, and a ticker that ends
// streams whose client stopped reading and wakes idle ones after a tokens
// reload so that they re-check their credentials.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "threadline/server/auth.h"
#include "threadline/server/stats.h"

namespace threadline::server {

struct StreamLimits {
  size_t max_streams = 2000;
  size_t max_streams_per_principal = 100;
  std::chrono::milliseconds write_timeout{30000};
  size_t threads = 4;
  // How often the ticker looks at every open stream.
  std::chrono::milliseconds tick{200};
};

// What the list keeps of each stream (implemented by stream_call.cc).
class OpenStream {
 public:
  virtual ~OpenStream() = default;
  // Pulls the next message if the stream is due to (stream threads only).
  virtual void Pump() = 0;
  // Once per tick: ends a stream whose write has waited longer than
  // `write_timeout`; with `reloaded`, wakes the stream so that it re-checks
  // its credentials.
  virtual void Tick(std::chrono::steady_clock::time_point now,
                    std::chrono::milliseconds write_timeout, bool reloaded) = 0;
};

// Thread-safe. Created and stopped by GrpcServer; Stop only once gRPC has
// finished every call (after grpc::Server::Wait), since the calls' last
// steps run on these threads.
class Streams {
 public:
  Streams(StreamLimits limits, const Authenticator* auth, ServerStats* stats);
  ~Streams();
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  // Counts `stream` as open for `principal`, or RESOURCE_EXHAUSTED naming
  // the limit it would pass and the flag that sets it.
  [[nodiscard]] absl::Status Admit(const std::shared_ptr<OpenStream>& stream,
                                   const std::string& principal);
  // Forgets an admitted stream; its slot is free again.
  void Release(OpenStream* stream, const std::string& principal);
  // Runs stream->Pump() on a stream thread.
  void Post(std::shared_ptr<OpenStream> stream);

  // Streams open now (admitted and not released).
  size_t open() const;

  // Ends the ticker and the stream threads; idempotent.
  void Stop();

 private:
  void Work();
  void TickLoop();

  const StreamLimits limits_;
  const Authenticator* auth_;
  ServerStats* stats_;

  mutable std::mutex mu_;
  std::unordered_map<OpenStream*, std::shared_ptr<OpenStream>> open_;  // guarded by mu_
  std::map<std::string, size_t, std::less<>> per_principal_;           // guarded by mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;               // stream threads wait on it
  std::condition_variable stop_cv_;                // the ticker waits on it
  std::deque<std::shared_ptr<OpenStream>> queue_;  // guarded by queue_mu_
  bool stopping_ = false;                          // guarded by queue_mu_
  std::vector<std::thread> workers_;
  std::thread ticker_;
};

}  // namespace threadline::server
