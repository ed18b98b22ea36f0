#include "threadline/privacy_service/peers.h"

#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/topics.h"
#include "threadline/server/face.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/keys.grpc.pb.h"

namespace threadline::privacy {
namespace {

constexpr size_t kMaxSubject = 200;

// A subject as SubjectOf (sealer.h) makes them: a customer id or
// "stream:<type>-<id>", printable ASCII without spaces.
absl::Status CheckSubject(const std::string& subject) {
  if (subject.empty()) return absl::InvalidArgumentError("subject is required");
  if (subject.size() > kMaxSubject) {
    return absl::InvalidArgumentError("subject is longer than " + std::to_string(kMaxSubject) +
                                      " bytes");
  }
  for (unsigned char c : subject) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          "subject must be printable ASCII without spaces (a customer id)");
    }
  }
  return absl::OkStatus();
}

std::string KeyBytes(const Key& k) { return std::string(k.view()); }

absl::StatusOr<v1::GetDataKeyResponse> GetDataKey(KeySource& keys, const v1::GetDataKeyRequest& r) {
  RETURN_IF_ERROR(CheckSubject(r.subject()));
  v1::GetDataKeyResponse out;
  if (r.create()) {
    absl::StatusOr<Key> key = keys.Obtain(r.subject());
    if (!key.ok()) {
      if (!IsErased(key.status())) return key.status();
      out.set_erased(true);
      return out;
    }
    out.set_key(KeyBytes(*key));
    return out;
  }
  ASSIGN_OR_RETURN(KeyLookup found, keys.Find(r.subject()));
  out.set_erased(found.erased);
  if (found.key) out.set_key(KeyBytes(*found.key));
  return out;
}

absl::StatusOr<v1::GetIndexKeyResponse> GetIndexKey(KeySource& keys,
                                                    const v1::GetIndexKeyRequest&) {
  ASSIGN_OR_RETURN(Key key, keys.IndexKey());
  v1::GetIndexKeyResponse out;
  out.set_key(KeyBytes(key));
  return out;
}

std::shared_ptr<grpc::Channel> PeerChannel(const Peer& peer) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (peer.tls_ca_pem.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = peer.tls_ca_pem;
    creds = grpc::SslCredentials(o);
  }
  return grpc::CreateChannel(peer.address, creds);
}

std::unique_ptr<grpc::ClientContext> PeerContext(const Peer& peer) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + peer.deadline);
  if (!peer.token.empty()) ctx->AddMetadata("authorization", "Bearer " + peer.token);
  return ctx;
}

// What a failed call to `peer` means here. Answers about the request pass
// through; anything else is the peer being out of reach (down, slow, or
// refusing this process's token), which a caller may retry.
absl::Status PeerError(const Peer& peer, std::string_view what, const grpc::Status& s) {
  const std::string message =
      std::string(what) + " at " + peer.address + ": " + std::string(s.error_message());
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::InvalidArgumentError(message);
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(message);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::FailedPreconditionError(message);
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::UnavailableError(message +
                                    " (this process's --peer-token-file needs a token of the "
                                    "service role there)");
    default:
      return absl::UnavailableError(message);
  }
}

class RemoteKeys final : public KeySource {
 public:
  explicit RemoteKeys(const Peer& peer)
      : peer_(peer), stub_(v1::KeyService::NewStub(PeerChannel(peer))) {}

  absl::StatusOr<Key> Obtain(std::string_view subject) override {
    ASSIGN_OR_RETURN(v1::GetDataKeyResponse r, Get(subject, true));
    if (r.erased()) return ErasedError(subject);
    return ToKey(r.key());
  }

  absl::StatusOr<KeyLookup> Find(std::string_view subject) override {
    ASSIGN_OR_RETURN(v1::GetDataKeyResponse r, Get(subject, false));
    KeyLookup out;
    out.erased = r.erased();
    if (!r.key().empty()) {
      ASSIGN_OR_RETURN(out.key, ToKey(r.key()));
    }
    return out;
  }

  absl::StatusOr<Key> IndexKey() override {
    auto ctx = PeerContext(peer_);
    v1::GetIndexKeyResponse r;
    grpc::Status s = stub_->GetIndexKey(ctx.get(), v1::GetIndexKeyRequest(), &r);
    if (!s.ok()) return PeerError(peer_, "key vault", s);
    return ToKey(r.key());
  }

 private:
  absl::StatusOr<v1::GetDataKeyResponse> Get(std::string_view subject, bool create) {
    v1::GetDataKeyRequest req;
    req.set_subject(std::string(subject));
    req.set_create(create);
    auto ctx = PeerContext(peer_);
    v1::GetDataKeyResponse r;
    grpc::Status s = stub_->GetDataKey(ctx.get(), req, &r);
    if (!s.ok()) return PeerError(peer_, "key vault", s);
    return r;
  }

  absl::StatusOr<Key> ToKey(const std::string& bytes) const {
    Key k;
    if (bytes.size() != k.bytes.size()) {
      return absl::UnavailableError("key vault at " + peer_.address + " answered a key of " +
                                    std::to_string(bytes.size()) + " bytes, not " +
                                    std::to_string(k.bytes.size()));
    }
    std::copy(bytes.begin(), bytes.end(), k.bytes.begin());
    return k;
  }

  const Peer peer_;
  std::unique_ptr<v1::KeyService::Stub> stub_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewKeyGrpc(KeySource* keys) {
  return server::MakeFace(keys, server::Query(TL_RPC(KeyService, GetDataKey), &GetDataKey),
                          server::Query(TL_RPC(KeyService, GetIndexKey), &GetIndexKey));
}

std::unique_ptr<KeySource> NewRemoteKeySource(const Peer& vault) {
  return std::make_unique<RemoteKeys>(vault);
}

JourneyExportFn RemoteJourneyExport(const Peer& journey) {
  std::shared_ptr<v1::JourneyExportService::Stub> stub =
      v1::JourneyExportService::NewStub(PeerChannel(journey));
  return [journey, stub](const std::string& customer) -> absl::StatusOr<v1::CustomerDataExport> {
    v1::ExportCustomerRequest req;
    req.set_customer_id(customer);
    auto ctx = PeerContext(journey);
    v1::CustomerDataExport out;
    grpc::Status s = stub->ExportCustomer(ctx.get(), req, &out);
    if (!s.ok()) return PeerError(journey, "journey", s);
    return out;
  };
}

absl::StatusOr<std::unique_ptr<ErasureWatcher>> ErasureWatcher::Open(bus::Bus* bus,
                                                                     KeyCache* cache) {
  std::unique_ptr<ErasureWatcher> w(new ErasureWatcher);
  bus::OffsetConsumerOptions o;
  o.name = "key-cache";
  o.topics = {domain::kPrivacyTopic};
  o.failure = "reading erasures";
  // From the end: what was erased before is answered by the vault itself
  // (the cache holds nothing yet).
  auto load = [bus]() -> absl::StatusOr<bus::Offsets> {
    ASSIGN_OR_RETURN(std::vector<int64_t> ends, bus->EndOffsets(domain::kPrivacyTopic));
    bus::Offsets out;
    for (size_t p = 0; p < ends.size(); ++p) {
      out[{domain::kPrivacyTopic, static_cast<int32_t>(p)}] = ends[p];
    }
    return out;
  };
  auto apply = [cache, counter = &w->forgotten_](const std::vector<bus::Message>& batch,
                                                 const bus::Offsets&) -> absl::Status {
    for (const auto& m : batch) {
      v1::EventEnvelope e;
      // Anything else on the topic (an export record, a message of a later
      // build) is not an erasure.
      if (!e.ParseFromString(m.value) || !e.has_customer_erased()) continue;
      const std::string& customer = e.customer_erased().customer_id();
      if (customer.empty()) continue;
      cache->Forget(customer);
      counter->fetch_add(1);
      Logger("privacy").Info("dropped the data key of an erased customer from this process",
                             {{"customer", customer}});
    }
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(w->consumer_, bus::OffsetConsumer::Open(bus, o, load, apply));
  return w;
}

ErasureWatcher::~ErasureWatcher() { Stop(); }

void ErasureWatcher::Start() { consumer_->Start(); }

void ErasureWatcher::Stop() {
  if (consumer_) consumer_->Stop();
}

}  // namespace threadline::privacy
