// SalesService through an in-process gRPC server on loopback.

#include "threadline/sales/service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "threadline/command/testing.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/testing.h"

namespace threadline::sales {
namespace {

using ::threadline::command::testing::Ctx;
using ::threadline::testing::TempDir;

// An inbound phone contact on `customer`, without expected_version.
v1::LogContactRequest Contact(const std::string& customer, const std::string& request_id,
                              const std::string& outcome = "call") {
  v1::LogContactRequest r;
  r.set_request_id(request_id);
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_customer_id(customer);
  r.set_direction(v1::CONTACT_DIRECTION_INBOUND);
  r.set_outcome(outcome);
  return r;
}

class SalesGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "sales", v1::DEPARTMENT_SALES,
                                                  /*clock=*/nullptr);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    service_ = std::make_unique<SalesService>(d->env);
    grpc_ = NewSalesGrpc(service_.get());
    auto server = command::testing::TestServer::Start(grpc_.get());
    ASSERT_OK(server);
    server_ = std::move(*server);
    stub_ = v1::SalesService::NewStub(server_->channel());
  }

  std::string Register(const std::string& request_id, const std::string& phone) {
    v1::RegisterCustomerRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_SHOP);
    r.set_name("Bert Jansen");
    r.add_phone_numbers(phone);
    r.set_preferred_channel(v1::CHANNEL_EMAIL);
    v1::RegisterCustomerResponse resp;
    auto s = stub_->RegisterCustomer(Ctx().get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.customer_id();
  }

  TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<SalesService> service_;
  std::unique_ptr<grpc::Service> grpc_;
  std::unique_ptr<command::testing::TestServer> server_;
  std::unique_ptr<v1::SalesService::Stub> stub_;
};

TEST_F(SalesGrpcTest, PlaceOrderAnswersIdsAndVersionAndStoresStampedEvents) {
  std::string customer = Register("r1", "+4915112345678");
  v1::PlaceOrderRequest r;
  r.set_request_id("o1");
  r.set_channel(v1::CHANNEL_SHOP);
  r.set_customer_id(customer);
  auto* item = r.add_items();
  item->set_sku("TV-BASIC");
  item->set_description("TV package");
  item->mutable_one_off_price()->set_currency("EUR");
  item->mutable_monthly_price()->set_amount_minor(1500);
  item->mutable_monthly_price()->set_currency("EUR");
  v1::PlaceOrderResponse resp;
  auto s = stub_->PlaceOrder(Ctx().get(), r, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.ack().version(), 2u);
  ASSERT_EQ(resp.item_ids_size(), 1);
  auto events = store_->ReadStream("customer-" + customer);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  const auto& e = (*events)[1];
  EXPECT_EQ(e.order_placed().order_id(), resp.order_id());
  EXPECT_EQ(e.customer_id(), customer);
  EXPECT_EQ(e.department(), v1::DEPARTMENT_SALES);
  EXPECT_EQ(e.channel(), v1::CHANNEL_SHOP);
  EXPECT_EQ(e.actor().principal(), "anonymous");
  EXPECT_EQ(e.causation_id(), "o1");
  EXPECT_EQ(e.event_id(), resp.ack().event_ids(0));
}

TEST_F(SalesGrpcTest, StaleExpectedVersionIsAborted) {
  std::string customer = Register("r1", "+4915112345678");
  v1::LogContactRequest r = Contact(customer, "c1", "question");
  r.set_expected_version(0);
  v1::LogContactResponse resp;
  auto s = stub_->LogContact(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  r.set_expected_version(1);
  s = stub_->LogContact(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(SalesGrpcTest, ConcurrentCommandsWithTheSameExpectedVersionExactlyOneWins) {
  std::string customer = Register("r1", "+4915112345678");
  constexpr int kClients = 6;
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      v1::LogContactRequest r =
          Contact(customer, "race-" + std::to_string(i), "call " + std::to_string(i));
      r.set_expected_version(1);
      v1::LogContactResponse resp;
      auto s = stub_->LogContact(Ctx().get(), r, &resp);
      if (s.ok()) ++ok;
      if (s.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kClients - 1);
}

// Without expected_version a command decides on whatever the state is: it
// never answers ABORTED because other writers of the same customer were
// quicker, and the stream grows by exactly one version per command.
TEST_F(SalesGrpcTest, ConcurrentWritersWithoutExpectedVersionAllSucceedWithoutGaps) {
  std::string customer = Register("r1", "+4915112345678");
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 40;
  std::atomic<int> ok{0};
  std::vector<std::string> failures[kWriters];
  std::vector<uint64_t> versions[kWriters];
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        v1::LogContactRequest r =
            Contact(customer, "w" + std::to_string(w) + "-" + std::to_string(i));
        v1::LogContactResponse resp;
        auto s = stub_->LogContact(Ctx().get(), r, &resp);
        if (s.ok()) {
          ++ok;
          versions[w].push_back(resp.ack().version());
        } else {
          failures[w].push_back(std::to_string(s.error_code()) + " " + s.error_message());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(failures[w].empty()) << "writer " << w << ": " << failures[w].size()
                                     << " failed, first: " << failures[w].front();
  }
  EXPECT_EQ(ok.load(), kWriters * kPerWriter);

  // Every answer names its own version: 2..N+1 (the registration is 1), each once.
  std::vector<uint64_t> all;
  for (const auto& v : versions) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kWriters * kPerWriter));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 2) << "at answer " << i;
  auto events = store_->ReadStream("customer-" + customer);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), all.size() + 1);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].version(), i + 1);

  // A stale expected_version is the only ABORTED, naming what it gave and
  // where the customer is.
  v1::LogContactRequest stale = Contact(customer, "stale");
  stale.set_expected_version(5);
  v1::LogContactResponse resp;
  auto s = stub_->LogContact(Ctx().get(), stale, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  const std::string head = std::to_string(events->size());
  EXPECT_NE(s.error_message().find("is at version " + head), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("the request expected 5"), std::string::npos)
      << s.error_message();
}

TEST_F(SalesGrpcTest, RequestIdReusedForAnotherRequestIsRejectedAndChangesNothing) {
  std::string customer = Register("r1", "+4915112345678");
  auto before = store_->Checksum();
  ASSERT_OK(before);
  v1::RegisterCustomerRequest r;
  r.set_request_id("r1");
  r.set_channel(v1::CHANNEL_SHOP);
  r.set_name("Someone Else");
  r.add_phone_numbers("+4915199999999");
  r.set_preferred_channel(v1::CHANNEL_EMAIL);
  v1::RegisterCustomerResponse resp;
  auto s = stub_->RegisterCustomer(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("request_id"), std::string::npos);
  EXPECT_EQ(*store_->Checksum(), *before);
}

TEST_F(SalesGrpcTest, UnknownCustomerIsNotFoundAndMalformedIdIsInvalid) {
  v1::CancelOrderRequest r;
  r.set_request_id("x1");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_customer_id("cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  r.set_order_id("ord_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  r.set_reason("moved abroad");
  v1::CancelOrderResponse resp;
  auto s = stub_->CancelOrder(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  r.set_customer_id("42");
  s = stub_->CancelOrder(Ctx().get(), r, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("customer_id"), std::string::npos);
}

}  // namespace
}  // namespace threadline::sales
