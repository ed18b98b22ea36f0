// A department store lost with its disk, rebuilt from its own Kafka topic
// (labels kafka, faults): `threadline store recover` on a broker of this
// test's own (the shared broker's topics hold every test's events, and a
// topic must hold one store's). Sales and the key vault run as the real
// binary; the test registers customers and places orders, stops it, moves
// the store aside as if its disk had died, recovers it from the topic and
// starts again. Every acknowledged event is back (`store verify` counts
// them), every retry answers what it answered the first time and appends
// nothing, a phone number held before the loss is still held, and the
// customers take new commands.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "faults_checks.h"
#include "slice_test_body.h"

namespace threadline::testing {
namespace {

namespace fs = std::filesystem;

v1::RegisterCustomerRequest Customer(int i) {
  char phone[32];
  std::snprintf(phone, sizeof phone, "+3161%07d", i);
  return NewCustomer("recover-reg-" + std::to_string(i), phone);
}

v1::PlaceOrderRequest Order(int i, const std::string& customer) {
  v1::PlaceOrderRequest r;
  r.set_request_id("recover-order-" + std::to_string(i));
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_customer_id(customer);
  auto* item = r.add_items();
  item->set_sku("FIBRE-1000");
  item->set_description("Glasvezel 1000");
  *item->mutable_monthly_price() = Eur(4995);
  *item->mutable_one_off_price() = Eur(0);
  auto* c = r.add_commitments();
  c->set_text("free installation on a Saturday");
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  *c->mutable_due_by() = FromNow(std::chrono::hours(24 * 14));
  return r;
}

// "store PATH: N events, ..." from `threadline store verify`.
uint64_t VerifiedEvents(const std::string& path, const std::string& log) {
  std::string out = RunThreadline({"store", "verify", "--path", path}, log);
  EXPECT_THAT(out, ::testing::HasSubstr(": ok (checksums"));
  auto at = out.find("store " + path + ": ");
  if (at == std::string::npos) return 0;
  return std::stoull(out.substr(at + path.size() + 8));
}

TEST(StoreRecoverKafkaTest, ALostSalesStoreComesBackFromItsTopicWithItsAnswersAndClaims) {
  TempDir dir;
  ASSERT_NE(std::getenv("THREADLINE_KAFKA_SCRIPT"), nullptr) << "run through ctest -L kafka";
  faults::PrivateBroker broker((dir.path() / "kafka").string());
  ASSERT_TRUE(broker.Start(/*fresh=*/true));
  const std::string bootstrap = broker.Bootstrap();
  ASSERT_FALSE(bootstrap.empty());
  const std::string data = (dir.path() / "data").string();
  const std::vector<std::string> args{"--target", "sales,privacy", "--kafka-brokers", bootstrap};
  const std::string sales_dir = data + "/sales";

  std::map<int, v1::RegisterCustomerResponse> registered;
  std::map<int, v1::PlaceOrderResponse> ordered;
  std::map<int, v1::PlaceOrderRequest> orders;  // the same bytes again on retry
  {
    SuiteProcess suite(data, args, (dir.path() / "first.log").string());
    for (int i = 0; i < 30; ++i) {
      auto s = suite.Sales()->RegisterCustomer(Ctx().get(), Customer(i), &registered[i]);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    for (int i = 0; i < 30; i += 3) {
      orders[i] = Order(i, registered[i].customer_id());
      auto s = suite.Sales()->PlaceOrder(Ctx().get(), orders[i], &ordered[i]);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    // SIGTERM: the relay publishes what it has before the process ends.
    suite.Kill(SIGTERM);
    ASSERT_EQ(suite.process()->Wait(std::chrono::seconds(60)), 0) << suite.Log();  // exit 0
  }
  const uint64_t events = VerifiedEvents(sales_dir, (dir.path() / "verify-before.log").string());
  // 30 registrations, 10 orders, and the PolicyChanged of the first start.
  ASSERT_EQ(events, 41u);

  // The disk is gone: only the topic is left.
  fs::rename(sales_dir, data + "/sales.lost");
  std::string out = RunThreadline({"store", "recover", "--store", "sales", "--path", sales_dir,
                                   "--kafka-brokers", bootstrap, "--data-dir", data},
                                  (dir.path() / "recover.log").string());
  EXPECT_THAT(LastLine(out), ::testing::HasSubstr("recovered from its topic and verified"));
  EXPECT_THAT(out, ::testing::HasSubstr("event store recovered from its topic"));
  EXPECT_EQ(VerifiedEvents(sales_dir, (dir.path() / "verify-after.log").string()), events);

  // A second recovery into the store it made is refused: it never
  // overwrites a store.
  {
    std::string log;
    const int status = RunThreadlineStatus(
        {"store", "recover", "--store", "sales", "--path", sales_dir, "--kafka-brokers", bootstrap,
         "--data-dir", data},
        (dir.path() / "recover-again.log").string(), std::chrono::seconds(60), &log);
    ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 2) << log;
    EXPECT_THAT(log, ::testing::HasSubstr("is not empty; recover into a fresh directory"));
  }

  SuiteProcess suite(data, args, (dir.path() / "second.log").string());
  for (auto& [i, first] : registered) {
    v1::RegisterCustomerResponse replay;
    auto s = suite.Sales()->RegisterCustomer(Ctx().get(), Customer(i), &replay);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
    EXPECT_EQ(replay.customer_id(), first.customer_id()) << i;
    EXPECT_TRUE(replay.ack().replayed()) << i;
    EXPECT_EQ(replay.ack().event_ids(0), first.ack().event_ids(0)) << i;
  }
  for (auto& [i, first] : ordered) {
    v1::PlaceOrderResponse replay;
    auto s = suite.Sales()->PlaceOrder(Ctx().get(), orders[i], &replay);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
    EXPECT_EQ(replay.order_id(), first.order_id()) << i;
    EXPECT_TRUE(replay.ack().replayed()) << i;
  }
  // The phone number of customer 4 is still claimed: a new registration
  // with it is refused.
  v1::RegisterCustomerRequest taken = Customer(4);
  taken.set_request_id("recover-reg-4-again");
  v1::RegisterCustomerResponse refused;
  auto s = suite.Sales()->RegisterCustomer(Ctx().get(), taken, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  // New commands continue the customers' streams.
  v1::PlaceOrderResponse next;
  v1::PlaceOrderRequest more = Order(100, registered[1].customer_id());
  ASSERT_TRUE(suite.Sales()->PlaceOrder(Ctx().get(), more, &next).ok());
  EXPECT_EQ(next.ack().version(), 2u);
  suite.Kill(SIGTERM);
  ASSERT_EQ(suite.process()->Wait(std::chrono::seconds(60)), 0) << suite.Log();  // exit 0
  EXPECT_EQ(VerifiedEvents(sales_dir, (dir.path() / "verify-end.log").string()), events + 1);
}

}  // namespace
}  // namespace threadline::testing
