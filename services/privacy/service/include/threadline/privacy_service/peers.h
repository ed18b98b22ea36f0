#pragma once

// How the processes of a multi-process deployment reach the privacy target
// and the journey: the key vault served over gRPC (KeyService), a KeySource
// that calls it, the journey's export fetched over gRPC, and the watcher
// that makes a process's key cache forget every customer erased while it
// runs.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/privacy/keys.h"
#include "threadline/privacy_service/service.h"

namespace threadline::privacy {

// The KeyService face over `keys` (the vault; it must outlive the face).
std::unique_ptr<grpc::Service> NewKeyGrpc(KeySource* keys);

// Another process of the deployment.
struct Peer {
  std::string address;  // host:port
  // Bearer token this process presents (a token of the service role in the
  // peer's tokens file); empty when the peer runs without tokens.
  std::string token;
  // CA certificate (PEM) that verifies the peer's TLS certificate; empty:
  // plaintext, for loopback and tests only (keys travel in these calls).
  std::string tls_ca_pem;
  // Longest wait for one call. Default: 3 s.
  std::chrono::milliseconds deadline{3000};
};

// A KeySource that asks the peer's KeyService. Put a KeyCache in front of
// it: every call is a round trip. Errors: UNAVAILABLE naming the peer when
// it cannot be reached or refuses this process (a wrong token), and the
// vault's own answers (FAILED_PRECONDITION "customer erased").
std::unique_ptr<KeySource> NewRemoteKeySource(const Peer& vault);

// The journey's export from the peer's JourneyExportService.
JourneyExportFn RemoteJourneyExport(const Peer& journey);

// Reads the privacy topic from its end at Open() and tells `cache` to
// forget each customer erased from then on. Keys fetched before Open() of
// customers erased before it are not in the cache yet, so Open() before
// the first key is fetched. One thread between Start() and Stop().
class ErasureWatcher {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ErasureWatcher>> Open(bus::Bus* bus,
                                                                            KeyCache* cache);
  ~ErasureWatcher();
  void Start();
  void Stop();
  // Customers forgotten since Open().
  uint64_t forgotten() const { return forgotten_.load(); }

 private:
  ErasureWatcher() = default;
  std::unique_ptr<bus::OffsetConsumer> consumer_;
  std::atomic<uint64_t> forgotten_{0};
};

}  // namespace threadline::privacy
