#pragma once

// Graceful shutdown: termination signals are blocked in every thread and
// taken synchronously by one waiting thread, so no handler runs in signal
// context.

#include <chrono>
#include <optional>
#include <string>

namespace threadline::server {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads started
// afterwards inherit the mask. Call at the top of main, before any thread
// (gRPC, RocksDB, librdkafka) starts, or a signal may land on a thread that
// dies of it.
void BlockTerminationSignals();

// Waits for SIGTERM, SIGINT or SIGHUP and returns its number. SIGHUP means
// "reload tokens": the caller reloads and waits again.
int WaitForTermination();

// As above, giving up after `timeout` (nullopt).
std::optional<int> WaitForTermination(std::chrono::milliseconds timeout);

// "SIGTERM", "SIGINT", "SIGHUP", or "signal N".
std::string SignalName(int sig);

}  // namespace threadline::server
