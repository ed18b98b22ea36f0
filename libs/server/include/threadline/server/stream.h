#pragma once

// What a server-streaming RPC sends, seen from the service: a source of
// messages that the server pulls one at a time, whenever the client has
// taken the previous one. No thread waits for a stream's next message, so an
// open stream costs memory, not a thread. No gRPC types here: a service's
// own classes (the journey's feed) implement StreamSource.

#include <functional>

#include "absl/status/statusor.h"

namespace threadline::server {

// What StreamSource::Next did.
enum class StreamStep {
  kMessage,  // `out` holds the next message; the server writes it
  kWait,     // nothing to send now; the source calls its StreamWake once
             // there may be
  kAgain,    // not done looking yet: call again, after other streams had a
             // turn (a source that scans far yields instead of hogging)
  kEnd,      // the stream is complete and ends with OK
};

// Tells a stream that its source may have something to send. Thread-safe
// and cheap; may be called any number of times, from any thread, also after
// the stream ended (it then does nothing). It only schedules a later Next on
// a stream thread and never calls Next itself, so a source may call it while
// holding its own locks.
using StreamWake = std::function<void()>;

// The messages of one server stream. Next is never called concurrently with
// itself (one stream thread at a time runs it) and must not block for long:
// the server's few stream threads serve every open stream. Destroyed once
// the stream ended, on whichever thread ended it.
template <typename Message>
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // A non-OK status ends the stream with that status.
  [[nodiscard]] virtual absl::StatusOr<StreamStep> Next(Message& out) = 0;
};

}  // namespace threadline::server
