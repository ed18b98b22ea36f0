// Disk full, through the real binary (labels e2e, disk): `threadline serve`
// with every store on a small filesystem of the test's own (a tmpfs it
// mounts as root, or a loop device), which the test fills with a filler
// file and frees again.
//   1. Commands fail cleanly with UNAVAILABLE saying why, and readiness
//      turns NOT_SERVING, while liveness stays SERVING.
//   2. Once the filler is deleted, commands succeed again within 30 s, with
//      no restart, and readiness returns to SERVING.
//   3. Every acknowledged command is still there: its retry replays the
//      first answer, the journey has it, and `threadline store verify`
//      finds the store sound.
//   4. SIGTERM exits 0, and the process never aborts.
// And a start on a full disk fails with one clear line and exit code 1, as
// often as it is tried, and starts normally once space is back.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "slice_test_body.h"
#include "threadline/testing/small_disk.h"

namespace threadline::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSales[] = "threadline.v1.SalesService";
constexpr char kJourney[] = "threadline.v1.JourneyService";

// The value of one series ("threadline_store_writable{store=\"sales\"}") in
// a /metrics text, if it is there.
std::optional<double> Metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Runs `threadline ARGS...` to its end; returns its wait status.
int RunThreadline(const std::vector<std::string>& args, const std::string& log) {
  return RunThreadlineStatus(args, log, std::chrono::seconds(60));
}

class DiskFullE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.mounted()); }

  std::string DataDir() const { return (disk_.path() / "data").string(); }

  void Start() {
    metrics_port_ = FreePort();
    suite_ = std::make_unique<SuiteProcess>(
        DataDir(),
        std::vector<std::string>{"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port_)},
        (logs_.path() / "threadline.log").string());
  }

  // RegisterCustomer for request `id` (its phone number derived from it);
  // an acknowledged one is remembered.
  grpc::Status Register(int id) {
    v1::RegisterCustomerResponse resp;
    auto s = suite_->Sales()->RegisterCustomer(Ctx().get(), Request(id), &resp);
    if (s.ok()) acked_[id] = resp;
    return s;
  }
  // Every acknowledged registration: its retry replays the first answer.
  // Fills `want` (customer -> event ids) when given.
  void ExpectRetriesReplay(std::map<std::string, std::set<std::string>>* want = nullptr) {
    for (const auto& [id, first] : acked_) {
      v1::RegisterCustomerResponse replay;
      auto s = suite_->Sales()->RegisterCustomer(Ctx().get(), Request(id), &replay);
      ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
      EXPECT_EQ(replay.customer_id(), first.customer_id()) << id;
      EXPECT_TRUE(replay.ack().replayed()) << id;
      if (want != nullptr) {
        (*want)[first.customer_id()].insert(first.ack().event_ids().begin(),
                                            first.ack().event_ids().end());
      }
    }
  }

  static v1::RegisterCustomerRequest Request(int id) {
    char phone[32];
    std::snprintf(phone, sizeof phone, "+3162%07d", id);
    return NewCustomer("diskfull-" + std::to_string(id), phone);
  }

  // LogContact `id` on the first customer. Its data key exists by then, so
  // the sales store is the only store the command writes.
  grpc::Status Contact(int id) {
    v1::LogContactResponse resp;
    auto s = suite_->Sales()->LogContact(Ctx().get(), ContactRequest(id), &resp);
    if (s.ok()) contacts_[id] = resp;
    return s;
  }
  v1::LogContactRequest ContactRequest(int id) const {
    v1::LogContactRequest r;
    r.set_request_id("diskfull-contact-" + std::to_string(id));
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(acked_.at(0).customer_id());
    r.set_direction(v1::CONTACT_DIRECTION_INBOUND);
    r.set_outcome("asked when the line is connected");
    return r;
  }

  std::string Metrics() { return HttpGet(metrics_port_, "/metrics"); }

  SmallDisk disk_{32 << 20};  // first: unmounted after every process has gone
  TempDir logs_;              // off the small disk, so the logs survive it
  int metrics_port_ = 0;
  std::unique_ptr<SuiteProcess> suite_;
  std::map<int, v1::RegisterCustomerResponse> acked_;
  std::map<int, v1::LogContactResponse> contacts_;
};

TEST_F(DiskFullE2E, WritesFailCleanlyWhileFullAndResumeByThemselvesLosingNothing) {
  Start();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Register(i).ok()) << suite_->Log();

  // 1. Full. The last page of a write-ahead log may take a few more.
  disk_.Fill();
  grpc::Status failed;
  int next = 0;
  for (; next < 1000 && failed.ok(); ++next) failed = Contact(next);
  const int refused = next - 1;
  disk_.Fill();  // what failed writes left behind, too
  ASSERT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message() << "\n"
                                                                << suite_->Log();
  EXPECT_THAT(failed.error_message(), HasSubstr("event store at " + DataDir() +
                                                "/sales cannot write: no space left on "
                                                "device"));
  EXPECT_THAT(failed.error_message(), HasSubstr("accepts writes again once space is freed"));
  EXPECT_TRUE(WaitFor([&] { return suite_->Health(kSales) == HealthCheckResponse::NOT_SERVING; },
                      std::chrono::seconds(10)))
      << suite_->Log();
  EXPECT_EQ(suite_->Health(""), HealthCheckResponse::SERVING);  // liveness: no restart wanted
  grpc::Status again = Contact(refused);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE) << again.error_message();
  // A new customer needs a new key too: refused by the vault or the store.
  grpc::Status new_customer = Register(10);
  EXPECT_EQ(new_customer.error_code(), grpc::StatusCode::UNAVAILABLE)
      << new_customer.error_message();
  EXPECT_THAT(new_customer.error_message(), HasSubstr("cannot write: no space left on device"));
  std::string metrics = Metrics();
  EXPECT_EQ(Metric(metrics, "threadline_store_writable{store=\"sales\"}"), 0.0) << metrics;
  EXPECT_GE(Metric(metrics, "threadline_store_write_errors_total{store=\"sales\"}").value_or(0), 2)
      << metrics;
  EXPECT_LT(Metric(metrics, "threadline_data_dir_free_bytes").value_or(1e12), 1 << 20) << metrics;
  EXPECT_EQ(Metric(metrics, "threadline_data_dir_size_bytes"), static_cast<double>(32 << 20));

  // 2. Space is back: the refused command, retried, succeeds within 30 s.
  disk_.Free();
  const auto freed = std::chrono::steady_clock::now();
  grpc::Status retried;
  EXPECT_TRUE(WaitFor(
      [&] {
        retried = Contact(refused);
        return retried.ok();
      },
      std::chrono::seconds(30)))
      << retried.error_message() << "\n"
      << suite_->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - freed, std::chrono::seconds(30));
  EXPECT_TRUE(WaitFor([&] { return suite_->Health(kSales) == HealthCheckResponse::SERVING; },
                      std::chrono::seconds(30)))
      << suite_->Log();
  EXPECT_TRUE(WaitFor([&] { return suite_->Health(kJourney) == HealthCheckResponse::SERVING; },
                      std::chrono::seconds(30)))
      << suite_->Log();
  EXPECT_TRUE(WaitFor([&] { return Register(10).ok(); }, std::chrono::seconds(30)))
      << suite_->Log();
  metrics = Metrics();
  EXPECT_EQ(Metric(metrics, "threadline_store_writable{store=\"sales\"}"), 1.0) << metrics;
  EXPECT_GE(Metric(metrics, "threadline_store_recoveries_total{store=\"sales\"}").value_or(0), 1)
      << metrics;

  // 3. Every acknowledged command: its retry replays the first answer, and
  // the journey has its events (the embedded bus and the journey store
  // recovered as well).
  std::map<std::string, std::set<std::string>> want;  // customer -> event ids
  ASSERT_NO_FATAL_FAILURE(ExpectRetriesReplay(&want));
  for (const auto& [id, first] : contacts_) {
    v1::LogContactResponse replay;
    auto s = suite_->Sales()->LogContact(Ctx().get(), ContactRequest(id), &replay);
    ASSERT_TRUE(s.ok()) << "contact " << id << ": " << s.error_message();
    EXPECT_TRUE(replay.ack().replayed()) << "contact " << id;
    EXPECT_EQ(replay.ack().event_ids(0), first.ack().event_ids(0)) << "contact " << id;
    want[acked_.at(0).customer_id()].insert(first.ack().event_ids().begin(),
                                            first.ack().event_ids().end());
  }
  size_t events = 0;  // event ids are unique: every acknowledged event once
  for (const auto& [customer, ids] : want) events += ids.size();
  for (const auto& [customer, ids] : want) {
    std::set<std::string> seen;
    EXPECT_TRUE(WaitFor(
        [&] {
          seen.clear();
          for (const auto& e : Timeline(*suite_, customer)) seen.insert(e.event_id());
          return seen == ids;
        },
        std::chrono::seconds(30)))
        << customer << ": " << seen.size() << " of " << ids.size()
        << " acknowledged events on the journey\n"
        << suite_->Log();
  }

  // 4. SIGTERM after all that: exit 0, no abort.
  suite_->Kill(SIGTERM);
  const int status = suite_->process()->Wait(std::chrono::seconds(30));
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status << "\n" << suite_->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << suite_->Log();
  EXPECT_THAT(suite_->Log(), Not(HasSubstr("Assertion")));

  // On disk, after the process: sound, one event per acknowledged command
  // and the PolicyChanged the store recorded at its first start.
  const std::string verify_log = (logs_.path() / "verify.log").string();
  const int verified =
      RunThreadline({"store", "verify", "--path", DataDir() + "/sales"}, verify_log);
  std::ifstream in(verify_log);
  std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(verified, 0) << report;
  EXPECT_THAT(report, HasSubstr(": " + std::to_string(events + 1) + " events")) << report;
}

// A start on a full disk: exit code 1 and one line naming the store, the
// disk and what to do, each time (a crash loop that says why, not SIGABRT);
// once space is back it starts with everything it had.
TEST_F(DiskFullE2E, StartOnAFullDiskFailsWithOneClearLineUntilSpaceIsBack) {
  Start();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Register(i).ok()) << suite_->Log();
  // Acknowledged means fsynced: a SIGKILL loses none of it (the clean stop
  // is the other test's).
  suite_->Kill(SIGKILL);
  suite_.reset();

  disk_.Fill();
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string log = (logs_.path() / ("start-" + std::to_string(attempt) + ".log")).string();
    const int status = RunThreadline(
        {"serve", "--data-dir", DataDir(), "--listen", "127.0.0.1:" + std::to_string(FreePort())},
        log);
    std::ifstream in(log);
    std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status << "\n" << output;
    EXPECT_EQ(WEXITSTATUS(status), 1) << output;
    std::vector<std::string> lines;
    std::istringstream split(output);
    for (std::string line; std::getline(split, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    ASSERT_EQ(lines.size(), 1u) << output;
    EXPECT_THAT(lines[0], HasSubstr("threadline: cannot start: UNAVAILABLE: "));
    EXPECT_THAT(lines[0], HasSubstr(" at " + DataDir() + "/"));
    EXPECT_THAT(lines[0], HasSubstr("cannot open: no space left on device"));
    EXPECT_THAT(lines[0], HasSubstr("free space on its volume or grow it"));
  }

  disk_.Free();
  Start();
  ASSERT_NO_FATAL_FAILURE(ExpectRetriesReplay());
  EXPECT_TRUE(Register(100).ok());
}

}  // namespace
}  // namespace threadline::testing
