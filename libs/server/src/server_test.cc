#include "threadline/server/server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/status/statusor.h"
#include "test_billing_service.h"
#include "threadline/testing/testing.h"

namespace threadline::server {
namespace {

namespace pb = google::protobuf;

using ::testing::HasSubstr;
using threadline::server::testing::TestBillingService;

constexpr char kBillingToken[] = "billing-0123456789abcdef";
constexpr char kSalesToken[] = "sales-0123456789abcdef";
constexpr char kSupervisorToken[] = "super-0123456789abcdef";
constexpr char kDashboardToken[] = "dash-0123456789abcdef";

void WriteFile(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
  }
  // As an operator should keep a tokens file (the server warns otherwise).
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// One unary call with raw bytes: the health protocol is two tiny messages,
// encoded by hand so the test needs no generated health stubs.
std::pair<grpc::Status, std::string> RawUnary(const std::shared_ptr<grpc::Channel>& channel,
                                              const std::string& method,
                                              const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  grpc::CompletionQueue cq;
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1);
  auto call = stub.PrepareUnaryCall(&ctx, method, req, &cq);
  call->StartCall();
  grpc::ByteBuffer resp;
  grpc::Status status;
  call->Finish(&resp, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  std::string out;
  if (status.ok()) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(resp.Dump(&slices).ok());
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return {status, out};
}

// grpc.health.v1.Health/Check: request {string service = 1}, response
// {ServingStatus status = 1}; SERVING = 1, NOT_SERVING = 2.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service) {
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  auto [status, response] = RawUnary(channel, "/grpc.health.v1.Health/Check", request);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (response.empty()) return 0;
  if (response.size() != 2 || response[0] != 0x08) return absl::InternalError("bad response");
  return static_cast<int>(response[1]);
}

// One request on the reflection protocol (REQUEST_FIELD set to VALUE), with
// the reflection messages taken from the descriptor pool that gRPC's
// reflection library registered (no generated code of our own). Null when
// the call fails.
std::unique_ptr<google::protobuf::Message> Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                                   const std::string& request_field,
                                                   const std::string& value) {
  const auto* pool = pb::DescriptorPool::generated_pool();
  const auto* req_desc =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const auto* resp_desc =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  if (req_desc == nullptr || resp_desc == nullptr) {
    ADD_FAILURE() << "reflection messages not in the generated pool";
    return nullptr;
  }
  // Outlives every message it makes.
  static pb::DynamicMessageFactory* factory = new pb::DynamicMessageFactory;
  std::unique_ptr<pb::Message> req(factory->GetPrototype(req_desc)->New());
  req->GetReflection()->SetString(req.get(), req_desc->FindFieldByName(request_field), value);
  std::string bytes = req->SerializeAsString();

  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto next = [&] { return cq.Next(&tag, &ok) && ok; };
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(next());
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out_buf(&slice, 1);
  call->Write(out_buf, reinterpret_cast<void*>(2));
  EXPECT_TRUE(next());
  call->WritesDone(reinterpret_cast<void*>(3));
  EXPECT_TRUE(next());
  grpc::ByteBuffer in_buf;
  call->Read(&in_buf, reinterpret_cast<void*>(4));
  bool read_ok = next();
  EXPECT_TRUE(read_ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  EXPECT_TRUE(next());
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!read_ok) return nullptr;

  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(in_buf.Dump(&slices).ok());
  std::string raw;
  for (const auto& s : slices) raw.append(reinterpret_cast<const char*>(s.begin()), s.size());
  std::unique_ptr<pb::Message> resp(factory->GetPrototype(resp_desc)->New());
  EXPECT_TRUE(resp->ParseFromString(raw));
  return resp;
}

// Lists services through reflection.
std::vector<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  auto resp = Reflect(channel, "list_services", "*");
  if (resp == nullptr) return {};
  const pb::Message& list = resp->GetReflection()->GetMessage(
      *resp, resp->GetDescriptor()->FindFieldByName("list_services_response"));
  const auto* service_field = list.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
    const pb::Message& s = list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    names.push_back(s.GetReflection()->GetString(s, s.GetDescriptor()->FindFieldByName("name")));
  }
  return names;
}

// The names of the files reflection sends for SYMBOL (the file that
// defines it, then its imports); the error message when it has none.
absl::StatusOr<std::vector<std::string>> FilesContaining(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol) {
  auto resp = Reflect(channel, "file_containing_symbol", symbol);
  if (resp == nullptr) return absl::UnavailableError("reflection call failed");
  const auto* d = resp->GetDescriptor();
  const auto* r = resp->GetReflection();
  if (r->HasField(*resp, d->FindFieldByName("error_response"))) {
    const pb::Message& err = r->GetMessage(*resp, d->FindFieldByName("error_response"));
    return absl::NotFoundError(
        err.GetReflection()->GetString(err, err.GetDescriptor()->FindFieldByName("error_message")));
  }
  const pb::Message& files = r->GetMessage(*resp, d->FindFieldByName("file_descriptor_response"));
  const auto* proto_field = files.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  std::vector<std::string> names;
  for (int i = 0; i < files.GetReflection()->FieldSize(files, proto_field); ++i) {
    pb::FileDescriptorProto file;
    EXPECT_TRUE(
        file.ParseFromString(files.GetReflection()->GetRepeatedString(files, proto_field, i)));
    names.push_back(file.name());
  }
  return names;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_path_ = dir_.str() + "/tokens";
    WriteFile(tokens_path_, std::string("# test tokens\n") + kBillingToken + " bea billing\n" +
                                kSalesToken + " sam sales\n" + kSupervisorToken +
                                " ulla supervisor\n" + kDashboardToken + " wall dashboard\n");
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.tokens_file = tokens_path_;
    auto server = GrpcServer::Start(options, {&service_});
    ASSERT_OK(server);
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::BillingService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
  }

  grpc::Status GetAccount(std::optional<std::string> token, const std::string& customer,
                          v1::Account* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    if (token) ctx.AddMetadata("authorization", "Bearer " + *token);
    v1::GetAccountRequest request;
    request.set_customer_id(customer);
    return stub_->GetAccount(&ctx, request, out);
  }

  const MethodStats* StatsFor(const std::vector<MethodStats>& snapshot, const std::string& m) {
    for (const auto& s : snapshot) {
      if (s.method == m) return &s;
    }
    return nullptr;
  }

  threadline::testing::TempDir dir_;
  std::string tokens_path_;
  TestBillingService service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

TEST_F(ServerTest, MissingTokenIsUnauthenticated) {
  v1::Account account;
  grpc::Status s = GetAccount(std::nullopt, "cus_1", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer"));
}

TEST_F(ServerTest, UnknownTokenIsUnauthenticated) {
  v1::Account account;
  grpc::Status s = GetAccount("someone-elses-token-1234", "cus_1", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("unknown or revoked token"));
}

TEST_F(ServerTest, WrongDepartmentIsPermissionDenied) {
  v1::Account account;
  grpc::Status s = GetAccount(kSalesToken, "cus_1", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("role 'sales'"));
  EXPECT_THAT(s.error_message(), HasSubstr("/threadline.v1.BillingService/GetAccount"));
  s = GetAccount(kDashboardToken, "cus_1", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ServerTest, OwnDepartmentAndSupervisorAreServed) {
  v1::Account account;
  grpc::Status s = GetAccount(kBillingToken, "cus_1", &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.customer_id(), "bea/billing");
  s = GetAccount(kSupervisorToken, "cus_1", &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.customer_id(), "ulla/supervisor");
}

TEST_F(ServerTest, BodyStatusKeepsCodeAndMessage) {
  v1::Account account;
  grpc::Status s = GetAccount(kBillingToken, "missing", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no account for customer 'missing'");
}

TEST_F(ServerTest, ExceptionBecomesInternalAndServerKeepsServing) {
  v1::Account account;
  grpc::Status s = GetAccount(kBillingToken, "throw", &account);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(s.error_message(), HasSubstr("/threadline.v1.BillingService/GetAccount"));
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("boom")));
  s = GetAccount(kBillingToken, "cus_1", &account);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(ServerTest, StatsCountEveryOutcome) {
  v1::Account account;
  (void)GetAccount(std::nullopt, "cus_1", &account);
  (void)GetAccount(kSalesToken, "cus_1", &account);
  (void)GetAccount(kBillingToken, "cus_1", &account);
  (void)GetAccount(kBillingToken, "cus_2", &account);
  (void)GetAccount(kBillingToken, "missing", &account);
  auto snapshot = server_->stats().Snapshot();
  const MethodStats* m = StatsFor(snapshot, "/threadline.v1.BillingService/GetAccount");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->total_calls(), 5u);
  EXPECT_EQ(m->calls[static_cast<int>(grpc::StatusCode::OK)], 2u);
  EXPECT_EQ(m->calls[static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)], 1u);
  EXPECT_EQ(m->calls[static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)], 1u);
  EXPECT_EQ(m->calls[static_cast<int>(grpc::StatusCode::NOT_FOUND)], 1u);
  uint64_t bucketed = 0;
  for (uint64_t b : m->latency_buckets) bucketed += b;
  EXPECT_EQ(bucketed, 5u);
}

TEST_F(ServerTest, HealthAnswersWithoutATokenPerServiceAndOverall) {
  auto overall = HealthCheck(channel_, "");
  ASSERT_OK(overall);
  EXPECT_EQ(*overall, 1);  // SERVING
  auto billing = HealthCheck(channel_, "threadline.v1.BillingService");
  ASSERT_OK(billing);
  EXPECT_EQ(*billing, 1);
  EXPECT_EQ(HealthCheck(channel_, "threadline.v1.SalesService").status().code(),
            absl::StatusCode::kNotFound);

  server_->SetServing("threadline.v1.BillingService", false);
  billing = HealthCheck(channel_, "threadline.v1.BillingService");
  ASSERT_OK(billing);
  EXPECT_EQ(*billing, 2);  // NOT_SERVING
  overall = HealthCheck(channel_, "");
  ASSERT_OK(overall);
  EXPECT_EQ(*overall, 1);
}

TEST_F(ServerTest, ReflectionListsTheServices) {
  auto names = ListServices(channel_);
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({std::string("threadline.v1.BillingService"),
                                       std::string("grpc.health.v1.Health"),
                                       std::string("grpc.reflection.v1alpha.ServerReflection")}));
}

// A client that has no health.proto (grpcurl without -proto) learns the
// health service from reflection: its file must be in the server's pool.
TEST_F(ServerTest, ReflectionDescribesTheHealthService) {
  for (const char* symbol : {"grpc.health.v1.Health", "grpc.health.v1.HealthCheckResponse"}) {
    auto files = FilesContaining(channel_, symbol);
    ASSERT_OK(files);
    EXPECT_THAT(*files, ::testing::Contains("grpc/health/v1/health.proto")) << symbol;
  }
}

TEST_F(ServerTest, ReloadedTokensApplyToTheNextCall) {
  const std::string fresh = "billing-fresh-0123456789";
  WriteFile(tokens_path_, fresh + " bea billing\n");
  server_->ReloadTokens();
  EXPECT_EQ(server_->auth().token_count(), 1u);
  v1::Account account;
  EXPECT_EQ(GetAccount(kBillingToken, "cus_1", &account).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(GetAccount(fresh, "cus_1", &account).ok());
  // A broken file keeps the tokens in force.
  WriteFile(tokens_path_, "oops\n");
  server_->ReloadTokens();
  EXPECT_TRUE(GetAccount(fresh, "cus_1", &account).ok());
}

TEST_F(ServerTest, OnlyOneServerPerProcess) {
  TestBillingService other;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto second = GrpcServer::Start(options, {&other});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("already running"));
  // The first one is unaffected.
  v1::Account account;
  EXPECT_TRUE(GetAccount(kBillingToken, "cus_1", &account).ok());
}

TEST(ServerStartTest, OpenOnLoopbackServesEveryoneAsAdmin) {
  TestBillingService service;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GrpcServer::Start(options, {&service});
  ASSERT_OK(server);
  EXPECT_TRUE((*server)->auth().open());
  auto stub = v1::BillingService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::GetAccountRequest request;
  v1::Account account;
  grpc::Status s = stub->GetAccount(&ctx, request, &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.customer_id(), "anonymous/admin");
}

TEST(ServerStartTest, RefusesToRunOpenOnANonLoopbackAddress) {
  TestBillingService service;
  for (std::string listen : {"0.0.0.0:0", "[::]:0", "192.0.2.10:50051", ":50051"}) {
    ServerOptions options;
    options.listen = listen;
    auto server = GrpcServer::Start(options, {&service});
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition) << listen;
    EXPECT_THAT(std::string(server.status().message()), HasSubstr("--tokens-file")) << listen;
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(listen)) << listen;
  }
}

TEST(ServerStartTest, PortInUseNamesTheAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TestBillingService service;
  ServerOptions options;
  options.listen = listen;
  auto server = GrpcServer::Start(options, {&service});
  ::close(fd);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr(listen));
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("already in use"));
}

TEST(ServerStartTest, BadTokensFileStopsStartUp) {
  threadline::testing::TempDir dir;
  WriteFile(dir.str() + "/tokens", "tooshort bea billing\n");
  TestBillingService service;
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.tokens_file = dir.str() + "/tokens";
  auto server = GrpcServer::Start(options, {&service});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("tokens:1: token"));
}

TEST(ServerStartTest, HandleWithoutAServerIsUnavailable) {
  grpc::ServerContext ctx;
  bool ran = false;
  grpc::Status s = Handle(&ctx, TL_GRPC_METHOD(BillingService, GetAccount), [&](const Principal&) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(ran);
}

TEST(ServerStartTest, MethodMacroSpellsTheFullName) {
  // A misspelt service or method would not compile.
  constexpr std::string_view kMethod = TL_GRPC_METHOD(BillingService, ApproveCredit);
  static_assert(kMethod == "/threadline.v1.BillingService/ApproveCredit");
  EXPECT_TRUE(Allowed(Role::kSupervisor, kMethod));
}

TEST(ServerStartTest, ToGrpcStatusKeepsCodeAndMessage) {
  grpc::Status s = ToGrpcStatus(absl::AbortedError("stale expected version 3; reload"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(s.error_message(), "stale expected version 3; reload");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(LoopbackTest, Addresses) {
  for (const char* a :
       {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051", "LOCALHOST:1", "[::1]:50051",
        "[::ffff:127.0.0.1]:1", "unix:/tmp/threadline.sock", "ipv4:127.0.0.1:5"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.5:1", "[fe80::1]:1",
                        "example.com:443", "garbage", "[::1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

}  // namespace
}  // namespace threadline::server
