#pragma once

#include <cstdint>
#include <string>

namespace threadline {

// Whether a store on disk accepts writes, for readiness and the metrics
// endpoint. Every RocksDB store reports one (rocks::WriteGuard keeps it);
// a plain value, copied out under the store's own lock.
struct StoreHealth {
  // False from a failed write (a full disk, an I/O error) until the store
  // has recovered; writes are refused with UNAVAILABLE meanwhile.
  bool writable = true;
  // True when the store cannot recover in this process (an error RocksDB
  // cannot resume from): it refuses writes until the process restarts.
  bool needs_restart = false;
  // Writes that failed or were refused because the store could not write.
  uint64_t write_errors = 0;
  // Times the store recovered from a write error by itself.
  uint64_t recoveries = 0;
  // The error that stopped writes, while !writable.
  std::string error;
};

}  // namespace threadline
