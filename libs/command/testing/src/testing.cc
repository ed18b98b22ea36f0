#include "threadline/command/testing.h"

#include "threadline/bus/embedded.h"
#include "threadline/common/status.h"
#include "threadline/outbox/relay.h"

namespace threadline::command::testing {

absl::StatusOr<TestDepartment> OpenTestDepartment(const std::filesystem::path& dir,
                                                  std::string service, v1::Department department,
                                                  const Clock* clock) {
  eventstore::Options o;
  o.path = (dir / "store").string();
  o.sync = false;
  TestDepartment d;
  ASSIGN_OR_RETURN(d.store, eventstore::EventStore::Open(o));
  d.env.store = d.store.get();
  d.env.clock = clock;
  d.env.service = std::move(service);
  d.env.department = department;
  return d;
}

absl::StatusOr<std::unique_ptr<TestBus>> TestBus::Open(const std::filesystem::path& dir,
                                                       const std::vector<std::string>& topics) {
  auto b = std::unique_ptr<TestBus>(new TestBus());
  bus::EmbeddedBusOptions bo;
  bo.path = (dir / "bus").string();
  bo.sync = false;
  ASSIGN_OR_RETURN(b->bus_, bus::OpenEmbeddedBus(bo));
  std::vector<bus::TopicSpec> specs;
  for (const auto& t : topics) specs.push_back({t, 3});
  RETURN_IF_ERROR(b->bus_->EnsureTopics(specs));
  ASSIGN_OR_RETURN(b->publisher_, b->bus_->NewPublisher());
  return b;
}

absl::Status TestBus::Publish(const v1::EventEnvelope& e, const std::string& topic) {
  return publisher_->Publish(outbox::ToMessage(e, topic), nullptr);
}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(grpc::Service* service,
                                                              const std::string& tokens_file) {
  auto s = std::unique_ptr<TestServer>(new TestServer());
  server::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.tokens_file = tokens_file;
  ASSIGN_OR_RETURN(s->server_, server::GrpcServer::Start(so, {service}));
  s->channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(s->server_->port()),
                                    grpc::InsecureChannelCredentials());
  return s;
}

TestServer::~TestServer() {
  channel_.reset();
  server_->Shutdown(std::chrono::seconds(1));
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
  return c;
}

}  // namespace threadline::command::testing
