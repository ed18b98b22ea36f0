// A server stream on gRPC's callback API. Who does what:
//
//   the reactor (face.h)   reports gRPC's callbacks here; owns the source
//   a stream thread        pulls the next message (Pump) and starts its write
//   the ticker             ends a stream whose write waited too long and
//                          wakes idle streams after a tokens reload
//   the source's wake      schedules a Pump once there may be something new
//
// One state machine under one mutex decides who may touch the call: at most
// one Pump runs at a time, and nothing calls into gRPC or the source while
// holding the mutex, because gRPC may run a reaction on the calling thread.

#include <exception>
#include <optional>

#include "active_server.h"
#include "streams.h"
#include "threadline/common/log.h"
#include "threadline/server/face.h"

namespace threadline::server {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& Log() {
  static const Logger* log = new Logger("server");
  return *log;
}

LogEvery& StalledLogLimit() {
  static auto* limit = new LogEvery(std::chrono::seconds(10));
  return *limit;
}

// Steps a Pump takes before giving the thread to other streams.
constexpr int kStepsPerTurn = 16;

class StreamCallImpl final : public face_internal::StreamCall,
                             public OpenStream,
                             public std::enable_shared_from_this<StreamCallImpl> {
 public:
  StreamCallImpl(const CallHandler& handler, const char* method, Principal who,
                 face_internal::StreamIo& io, Clock::time_point started)
      : handler_(handler),
        streams_(handler.streams()),
        method_(method),
        who_(std::move(who)),
        io_(io),
        started_(started),
        write_since_(started) {}

  // Admits the stream and opens its source; false (after finishing `io`)
  // when refused.
  bool Begin(grpc::CallbackServerContext& ctx,
             const std::function<absl::Status(StreamWake)>& open) {
    if (absl::Status s = streams_.Admit(shared_from_this(), who_.name); !s.ok()) {
      return Refuse(s);
    }
    watch_.emplace(handler_.Watch(ctx, method_, who_));
    absl::Status opened;
    try {
      opened = open(Wake());
    } catch (const std::exception& e) {
      Log().Error("stream handler threw", {{"method", method_}, {"what", e.what()}});
      opened = Internal();
    } catch (...) {
      Log().Error("stream handler threw a non-standard exception", {{"method", method_}});
      opened = Internal();
    }
    if (!opened.ok()) {
      streams_.Release(this, who_.name);
      return Refuse(opened);
    }
    // Headers go out at once, so a client knows it is subscribed before the
    // first message.
    {
      std::lock_guard lock(mu_);
      state_ = State::kWriting;
      write_since_ = Clock::now();
    }
    io_.IoSendInitialMetadata();
    return true;
  }

  // Finishes a stream that never started.
  bool Refuse(const absl::Status& status) {
    {
      std::lock_guard lock(mu_);
      state_ = State::kFinishing;
    }
    handler_.Record(method_, static_cast<int>(status.code()), Clock::now() - started_);
    io_.IoFinish(ToGrpcStatus(status));
    return false;
  }

  StreamWake Wake() {
    return [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->OnWake();
    };
  }

  void WriteDone(bool ok) override {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      if (!ok) write_failed_ = true;
      if (state_ == State::kWriting) {
        state_ = State::kScheduled;
        post = true;
      }
    }
    if (post) streams_.Post(shared_from_this());
  }

  void Cancelled() override {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      post = Schedule();
    }
    if (post) streams_.Post(shared_from_this());
  }

  void Done() override {
    {
      std::lock_guard lock(mu_);
      state_ = State::kDone;
    }
    streams_.Release(this, who_.name);  // if the write timeout has not already
  }

  void Pump() override {
    {
      std::lock_guard lock(mu_);
      if (state_ != State::kScheduled) return;
      state_ = State::kRunning;
      rewake_ = false;
    }
    for (int step = 0;; ++step) {
      bool cancelled, write_failed, stalled;
      std::chrono::milliseconds timeout;
      {
        std::lock_guard lock(mu_);
        cancelled = cancelled_;
        write_failed = write_failed_;
        stalled = stalled_;
        timeout = write_timeout_;
      }
      if (stalled) {
        return End(absl::DeadlineExceededError(
            "the client took no message for longer than --grpc-stream-write-timeout-ms (" +
            std::to_string(timeout.count()) + " ms)"));
      }
      if (cancelled || write_failed) return End(absl::CancelledError("the client went away"));
      // A revoked token, or a role that lost the right, ends the stream with
      // the check's status. Costs an atomic load until the next reload.
      if (absl::Status s = watch_->Check(); !s.ok()) return End(s);
      absl::StatusOr<StreamStep> next = Next();
      if (!next.ok()) return End(next.status());
      switch (*next) {
        case StreamStep::kMessage: {
          {
            std::lock_guard lock(mu_);
            state_ = State::kWriting;
            write_since_ = Clock::now();
          }
          io_.IoWrite();
          return;
        }
        case StreamStep::kEnd:
          return End(absl::OkStatus());
        case StreamStep::kAgain:
          if (step + 1 < kStepsPerTurn) continue;
          {
            std::lock_guard lock(mu_);
            state_ = State::kScheduled;
          }
          streams_.Post(shared_from_this());
          return;
        case StreamStep::kWait: {
          std::lock_guard lock(mu_);
          if (rewake_) {
            rewake_ = false;
            break;  // woken while looking: look again
          }
          state_ = State::kIdle;
          return;
        }
      }
    }
  }

  void Tick(Clock::time_point now, std::chrono::milliseconds write_timeout,
            bool reloaded) override {
    bool post = false, cancel = false;
    {
      std::lock_guard lock(mu_);
      if (reloaded) post = Schedule();
      if (state_ == State::kWriting && !stalled_ && now - write_since_ > write_timeout) {
        // The client has stopped reading (or its connection is gone without
        // a word): cancelling fails the write, and the Pump that follows
        // ends the stream.
        stalled_ = true;
        write_timeout_ = write_timeout;
        ++borrowers_;
        cancel = true;
      }
    }
    if (post) streams_.Post(shared_from_this());
    if (!cancel) return;
    handler_.stats().StreamWriteTimedOut();
    if (StalledLogLimit().Allow()) {
      Log().Warn("stream ended: the client took nothing for the write timeout",
                 {{"method", method_}, {"principal", who_.name}});
    }
    // The stream is over for the client and the limits at once, even if its
    // connection is so stuck that the cancelled write completes only when
    // keepalive closes the connection: its slot and its source go now.
    io_.IoDropSource();
    streams_.Release(this, who_.name);
    io_.IoCancel();
    std::optional<absl::Status> finish;
    {
      std::lock_guard lock(mu_);
      --borrowers_;
      if (borrowers_ == 0 && deferred_) {
        finish = std::move(deferred_);
        deferred_.reset();
      }
    }
    if (finish) Finish(*finish);
  }

 private:
  enum class State {
    kStarting,   // Begin runs: admitted, not yet sending
    kWriting,    // gRPC holds the call: initial metadata or a message in flight
    kScheduled,  // a Pump is queued
    kRunning,    // a Pump runs
    kIdle,       // the source said kWait: the next wake schedules a Pump
    kFinishing,  // Finish was called (or is due once the ticker lets go)
    kDone,       // OnDone: the reactor is gone
  };

  static absl::Status Internal() {
    return absl::InternalError("internal error in a stream; the server log has details");
  }

  void OnWake() {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      post = Schedule();
    }
    if (post) streams_.Post(shared_from_this());
  }

  // Under mu_: true when the caller must post a Pump.
  bool Schedule() {
    if (state_ == State::kIdle) {
      state_ = State::kScheduled;
      return true;
    }
    if (state_ == State::kRunning) rewake_ = true;
    return false;
  }

  absl::StatusOr<StreamStep> Next() {
    try {
      return io_.IoNext();
    } catch (const std::exception& e) {
      Log().Error("stream source threw", {{"method", method_}, {"what", e.what()}});
    } catch (...) {
      Log().Error("stream source threw a non-standard exception", {{"method", method_}});
    }
    return Internal();
  }

  // Ends the stream from a Pump. While the ticker is cancelling the call,
  // the ticker finishes it instead, once it is done with the context.
  void End(const absl::Status& status) {
    {
      std::lock_guard lock(mu_);
      state_ = State::kFinishing;
      if (borrowers_ > 0) {
        deferred_ = status;
        return;
      }
    }
    Finish(status);
  }

  void Finish(const absl::Status& status) {
    handler_.Record(method_, static_cast<int>(status.code()), Clock::now() - started_);
    io_.IoFinish(ToGrpcStatus(status));
  }

  const CallHandler& handler_;
  Streams& streams_;
  const char* const method_;
  const Principal who_;
  face_internal::StreamIo& io_;  // valid until Done
  const Clock::time_point started_;
  std::optional<CredentialWatch> watch_;  // used by Pump only

  std::mutex mu_;
  State state_ = State::kStarting;  // guarded by mu_
  bool rewake_ = false;             // guarded by mu_: woken while a Pump ran
  bool cancelled_ = false;          // guarded by mu_
  bool write_failed_ = false;       // guarded by mu_
  bool stalled_ = false;            // guarded by mu_: the ticker cancelled a stuck write
  std::chrono::milliseconds write_timeout_{0};  // guarded by mu_
  Clock::time_point write_since_;               // guarded by mu_
  int borrowers_ = 0;                           // guarded by mu_: ticks using io_ outside the lock
  std::optional<absl::Status> deferred_;        // guarded by mu_: the status to finish with
};

}  // namespace

std::shared_ptr<face_internal::StreamCall> face_internal::StreamCall::Start(
    grpc::CallbackServerContext& ctx, const char* method, StreamIo& io,
    const std::function<absl::Status(StreamWake)>& open) {
  const auto started = Clock::now();
  const CallHandler* handler = ActiveHandler();
  if (handler == nullptr) {
    io.IoFinish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "no threadline GrpcServer is running in this process; serve the "
                             "service through server::GrpcServer::Start"));
    return nullptr;
  }
  absl::StatusOr<Principal> who = handler->Authorize(ctx, method);
  if (!who.ok()) {
    handler->Record(method, static_cast<int>(who.status().code()), Clock::now() - started);
    io.IoFinish(ToGrpcStatus(who.status()));
    return nullptr;
  }
  auto call = std::make_shared<StreamCallImpl>(*handler, method, *std::move(who), io, started);
  if (!call->Begin(ctx, open)) return nullptr;
  return call;
}

}  // namespace threadline::server
