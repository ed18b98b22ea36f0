// The key vault over gRPC, as a department in another process uses it: a
// real server with tokens on loopback, the remote KeySource behind a
// KeyCache, and the watcher that makes the cache forget erased customers.

#include "threadline/privacy_service/peers.h"

#include <gtest/gtest.h>

#include <fstream>

#include "threadline/bus/embedded.h"
#include "threadline/common/ids.h"
#include "threadline/domain/topics.h"
#include "threadline/privacy/vault.h"
#include "threadline/server/server.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/keys.grpc.pb.h"

namespace threadline::privacy {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kServiceToken[] = "peers-test-service-token-0123456789";
constexpr char kDashboardToken[] = "peers-test-dashboard-token-0123456789";

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions vo;
    vo.path = (dir_.path() / "vault").string();
    vo.master = RandomKey();
    vo.sync = false;
    auto v = Vault::Open(vo);
    ASSERT_OK(v);
    vault_ = std::move(*v);
    const std::string tokens = (dir_.path() / "tokens").string();
    std::ofstream(tokens) << kServiceToken << " sales-process service\n"
                          << kDashboardToken << " wall dashboard\n";
    face_ = NewKeyGrpc(vault_.get());
    server::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.tokens_file = tokens;
    auto s = server::GrpcServer::Start(so, {face_.get()});
    ASSERT_OK(s);
    server_ = std::move(*s);
    peer_.address = "127.0.0.1:" + std::to_string(server_->port());
    peer_.token = kServiceToken;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
  }

  grpc::Status RawGet(const std::string& subject, v1::GetDataKeyResponse* out) {
    auto stub = v1::KeyService::NewStub(
        grpc::CreateChannel(peer_.address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", std::string("Bearer ") + kServiceToken);
    v1::GetDataKeyRequest r;
    r.set_subject(subject);
    r.set_create(true);
    return stub->GetDataKey(&ctx, r, out);
  }

  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<grpc::Service> face_;
  std::unique_ptr<server::GrpcServer> server_;
  Peer peer_;
  const std::string customer_ = NewId("cus");
};

TEST_F(PeersTest, RemoteKeysAreTheVaultsKeys) {
  auto remote = NewRemoteKeySource(peer_);
  auto before = remote->Find(customer_);
  ASSERT_OK(before);
  EXPECT_FALSE(before->key.has_value()) << "Find must not make a key";
  EXPECT_FALSE(before->erased);

  auto made = remote->Obtain(customer_);
  ASSERT_OK(made);
  auto held = vault_->Find(customer_);
  ASSERT_OK(held);
  ASSERT_TRUE(held->key.has_value());
  EXPECT_EQ(*made, *held->key);
  auto again = remote->Find(customer_);
  ASSERT_OK(again);
  ASSERT_TRUE(again->key.has_value());
  EXPECT_EQ(*again->key, *made);

  auto index = remote->IndexKey();
  ASSERT_OK(index);
  EXPECT_EQ(*index, *vault_->IndexKey());
}

TEST_F(PeersTest, AnErasedCustomerHasNoKeyOverTheWire) {
  auto remote = NewRemoteKeySource(peer_);
  ASSERT_OK(remote->Obtain(customer_));
  ASSERT_OK(vault_->Erase(customer_));
  auto obtain = remote->Obtain(customer_);
  EXPECT_TRUE(IsErased(obtain.status())) << obtain.status();
  auto found = remote->Find(customer_);
  ASSERT_OK(found);
  EXPECT_TRUE(found->erased);
  EXPECT_FALSE(found->key.has_value());
}

TEST_F(PeersTest, AWrongTokenOrRoleIsUnavailableAndSaysWhichFlag) {
  for (const std::string& token : {std::string("not-a-token-at-all-0123456789"),
                                   std::string(kDashboardToken), std::string()}) {
    Peer p = peer_;
    p.token = token;
    auto remote = NewRemoteKeySource(p);
    auto got = remote->Obtain(customer_);
    ASSERT_FALSE(got.ok()) << "token '" << token << "' got a key";
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_NE(got.status().ToString().find("--peer-token-file"), std::string::npos) << got.status();
    EXPECT_NE(got.status().ToString().find(peer_.address), std::string::npos) << got.status();
  }
  auto held = vault_->Find(customer_);
  ASSERT_OK(held);
  EXPECT_FALSE(held->key.has_value()) << "a refused call made a key";
}

TEST_F(PeersTest, AnUnreachableVaultIsUnavailableWithinTheDeadline) {
  const std::string address = peer_.address;
  server_->Shutdown(std::chrono::seconds(5));
  server_.reset();
  Peer p = peer_;
  p.deadline = std::chrono::milliseconds(500);
  auto remote = NewRemoteKeySource(p);
  auto got = remote->Obtain(customer_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_NE(got.status().ToString().find(address), std::string::npos) << got.status();
}

TEST_F(PeersTest, HostileSubjectsAreRefusedAndMakeNoKey) {
  for (const std::string& subject : {std::string(), std::string(201, 'c'), std::string("cus x"),
                                     std::string("cus\0x", 5), std::string("cus\xc3\xa9")}) {
    v1::GetDataKeyResponse r;
    grpc::Status s = RawGet(subject, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "subject of " << subject.size() << " bytes: " << s.error_message();
    EXPECT_NE(s.error_message().find("subject"), std::string::npos) << s.error_message();
    EXPECT_TRUE(r.key().empty());
  }
}

TEST_F(PeersTest, TheWatcherMakesACacheForgetACustomerErasedElsewhere) {
  bus::EmbeddedBusOptions bo;
  bo.path = (dir_.path() / "bus").string();
  bo.sync = false;
  auto bus = bus::OpenEmbeddedBus(bo);
  ASSERT_OK(bus);
  ASSERT_OK((*bus)->EnsureTopics({{domain::kPrivacyTopic, 3}}));
  auto remote = NewRemoteKeySource(peer_);
  KeyCache cache(remote.get());
  const std::string other = NewId("cus");
  ASSERT_OK(cache.Obtain(customer_));
  ASSERT_OK(cache.Obtain(other));
  {
    auto watcher = ErasureWatcher::Open(bus->get(), &cache);
    ASSERT_OK(watcher);
    (*watcher)->Start();
    // An erasure recorded by the privacy service in another process. The
    // vault here still holds the key: only the topic can make the cache
    // forget it.
    auto publisher = (*bus)->NewPublisher();
    ASSERT_OK(publisher);
    v1::EventEnvelope e;
    e.set_event_id(NewId("evt"));
    e.set_customer_id(customer_);
    e.mutable_customer_erased()->set_customer_id(customer_);
    e.mutable_customer_erased()->set_reason("DSR-1");
    ASSERT_OK(
        (*publisher)->Publish({domain::kPrivacyTopic, customer_, "not an envelope", {}}, nullptr));
    ASSERT_OK(
        (*publisher)
            ->Publish({domain::kPrivacyTopic, customer_, e.SerializeAsString(), {}}, nullptr));
    ASSERT_OK((*publisher)->Flush(std::chrono::seconds(10)));
    ASSERT_TRUE(WaitFor([&] { return (*watcher)->forgotten() == 1; }, std::chrono::seconds(10)));
    (*watcher)->Stop();
  }
  auto found = cache.Find(customer_);
  ASSERT_OK(found);
  EXPECT_TRUE(found->erased);
  EXPECT_FALSE(found->key.has_value());
  EXPECT_TRUE(IsErased(cache.Obtain(customer_).status()));
  auto untouched = cache.Find(other);
  ASSERT_OK(untouched);
  EXPECT_TRUE(untouched->key.has_value());
}

}  // namespace
}  // namespace threadline::privacy
