// The policy file through the real binary (label e2e): `serve --policy-file`
// decides with it from the first command; SIGHUP puts a changed file in
// force for the next command (due times and roles) and records it as
// PolicyChanged in every department store; a file that does not load, or
// whose roles name no method, is refused with its file, line and key, and
// the running policy stays whole; a start with such a file exits 2.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "security_support.h"
#include "slice_test_body.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/policy/policy.h"

namespace threadline::testing {
namespace {

using std::chrono::hours;
using ::testing::HasSubstr;

constexpr char kAdmin[] = "admin-token-0123456789abcdef";
constexpr char kDashboard[] = "dashboard-token-0123456789abcd";

// complaint/high resolves within `within`; with `dashboard_reads_tickets`
// the dashboard role may also read tickets.
std::string PolicyText(const std::string& within, bool dashboard_reads_tickets) {
  std::string text =
      "sla:\n"
      "  tickets:\n"
      "    - category: complaint\n"
      "      priority: high\n"
      "      resolution: {within: " +
      within + "}\n";
  if (dashboard_reads_tickets) {
    text +=
        "roles:\n"
        "  dashboard:\n"
        "    may: [\"JourneyService/*\", \"SupportService/GetTicket\"]\n";
  }
  return text;
}

// An unknown key on line 5.
constexpr char kUnknownKey[] =
    "sla:\n"
    "  tickets:\n"
    "    - category: complaint\n"
    "      priority: high\n"
    "      resolutoin: {within: 1h}\n";

// Valid YAML and a valid policy file, but its pattern names no method.
constexpr char kNoSuchMethod[] =
    "roles:\n"
    "  support:\n"
    "    may: [\"SupportService/Nope\"]\n";

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
  out.close();
  ASSERT_TRUE(out.good()) << path;
}

std::string DigestOf(const std::string& text) {
  auto p = policy::Policy::Parse(text, "policy.yaml");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->digest() : "";
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The value of `series` in the process's /metrics, if it is there.
std::optional<double> Metric(int port, const std::string& series) {
  std::istringstream in(HttpGet(port, "/metrics"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// The sum of every series of the labelled `metric`; none when it has none.
std::optional<double> MetricSum(int port, const std::string& metric) {
  std::istringstream in(HttpGet(port, "/metrics"));
  std::optional<double> sum;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(metric + "{")) continue;
    sum = sum.value_or(0) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string InfoSeries(const std::string& digest) {
  return "threadline_policy_info{digest=\"" + digest + "\"}";
}

std::string ReloadsSeries(const std::string& result) {
  return "threadline_policy_reloads_total{result=\"" + result + "\"}";
}

class PolicyReloadE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.path() / "policy.yaml";
    WriteTokensFile(dir_.path() / "tokens", {{kAdmin, "admin"}, {kDashboard, "dashboard"}});
    metrics_port_ = FreePort();
  }

  void Start(const std::string& text) {
    WriteFile(file_, text);
    suite_ = std::make_unique<SuiteProcess>(
        DataDir(),
        std::vector<std::string>{"--policy-file", file_.string(), "--tokens-file",
                                 (dir_.path() / "tokens").string(), "--metrics-listen",
                                 "127.0.0.1:" + std::to_string(metrics_port_)},
        (dir_.path() / "threadline.log").string());
  }

  std::string DataDir() const { return (dir_.path() / "data").string(); }

  // SIGHUP, then waits until the reload counter `result` reaches `count`.
  void Reload(const std::string& result, double count) {
    suite_->Kill(SIGHUP);
    ASSERT_TRUE(WaitFor([&] { return Metric(metrics_port_, ReloadsSeries(result)) == count; },
                        std::chrono::seconds(20)))
        << result << " reloads never reached " << count << "\n"
        << suite_->Log();
  }

  std::string Customer() {
    v1::RegisterCustomerResponse r;
    auto s = suite_->Sales()->RegisterCustomer(Ctx(kAdmin).get(),
                                               NewCustomer("policy-reg", "+31 6 1234 5000"), &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r.customer_id();
  }

  // Opens a complaint/high ticket and expects it due `within` from now.
  std::string ExpectComplaintDueIn(const std::string& customer, hours within) {
    v1::OpenTicketRequest r;
    r.set_request_id("policy-ticket-" + std::to_string(++tickets_));
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(customer);
    r.set_category(v1::TICKET_CATEGORY_COMPLAINT);
    r.set_priority(v1::TICKET_PRIORITY_HIGH);
    r.set_subject("Router keeps dropping");
    v1::OpenTicketResponse resp;
    const auto before = std::chrono::system_clock::now();
    auto s = suite_->Support()->OpenTicket(Ctx(kAdmin).get(), r, &resp);
    const auto after = std::chrono::system_clock::now();
    EXPECT_TRUE(s.ok()) << s.error_message();
    const auto due = std::chrono::system_clock::time_point(
        std::chrono::seconds(resp.sla_due_at().seconds()) +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(resp.sla_due_at().nanos())));
    EXPECT_GE(due, before + within - std::chrono::seconds(1)) << "ticket " << tickets_;
    EXPECT_LE(due, after + within + std::chrono::seconds(1)) << "ticket " << tickets_;
    return resp.ticket_id();
  }

  grpc::StatusCode DashboardReads(const std::string& ticket) {
    v1::GetTicketRequest r;
    r.set_ticket_id(ticket);
    v1::Ticket t;
    return suite_->Support()->GetTicket(Ctx(kDashboard).get(), r, &t).error_code();
  }

  // The PolicyChanged events of `store` under the stopped suite's data.
  std::vector<v1::PolicyChanged> Recorded(const std::string& store) {
    eventstore::Options o;
    o.path = (std::filesystem::path(DataDir()) / store).string();
    o.must_exist = true;
    auto opened = eventstore::EventStore::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return {};
    auto events = (*opened)->ReadStream("policy-" + store);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<v1::PolicyChanged> out;
    for (const auto& e : events.ok() ? *events : std::vector<v1::EventEnvelope>{}) {
      EXPECT_TRUE(e.has_policy_changed()) << e.ShortDebugString();
      EXPECT_EQ(e.customer_id(), "");
      out.push_back(e.policy_changed());
    }
    return out;
  }

  TempDir dir_;
  std::filesystem::path file_;
  int metrics_port_ = 0;
  int tickets_ = 0;
  std::unique_ptr<SuiteProcess> suite_;
};

TEST_F(PolicyReloadE2E, SighupAppliesAChangedFileRefusesBadOnesAndRecordsEveryChange) {
  const std::string eight = PolicyText("8h", false);
  const std::string two = PolicyText("2h", true);
  Start(eight);
  ASSERT_TRUE(WaitFor([&] { return Metric(metrics_port_, InfoSeries(DigestOf(eight))) == 1; }))
      << suite_->Log();
  const std::string customer = Customer();
  const std::string first = ExpectComplaintDueIn(customer, hours(8));
  EXPECT_EQ(DashboardReads(first), grpc::StatusCode::PERMISSION_DENIED);

  // A changed file: in force for the next command, targets and roles.
  WriteFile(file_, two);
  ASSERT_NO_FATAL_FAILURE(Reload("applied", 1));
  EXPECT_EQ(Metric(metrics_port_, InfoSeries(DigestOf(two))), 1);
  EXPECT_THAT(suite_->Log(),
              HasSubstr("policy changed file=" + file_.string() +
                        " previous_digest=" + DigestOf(eight) + " digest=" + DigestOf(two)));
  ExpectComplaintDueIn(customer, hours(2));
  EXPECT_EQ(DashboardReads(first), grpc::StatusCode::OK);
  // Every consumer took the PolicyChanged events on the department topics
  // (no customer: the journey keeps them as seen only) and none skipped or
  // parked one.
  EXPECT_TRUE(WaitFor([&] {
    return MetricSum(metrics_port_, "threadline_consumer_lag_messages") == 0 &&
           MetricSum(metrics_port_, "threadline_outbox_backlog_events") == 0;
  })) << HttpGet(metrics_port_, "/metrics");
  EXPECT_EQ(Metric(metrics_port_, "threadline_journey_dead_lettered_total"), 0);
  EXPECT_EQ(MetricSum(metrics_port_, "threadline_consumer_invalid_total"), 0);

  // The same file again changes nothing.
  ASSERT_NO_FATAL_FAILURE(Reload("unchanged", 1));

  // An unknown key on line 5: refused with file, line and key.
  WriteFile(file_, kUnknownKey);
  ASSERT_NO_FATAL_FAILURE(Reload("refused", 1));
  EXPECT_THAT(suite_->Log(),
              HasSubstr("policy file refused; the running policy stays in force file=" +
                        file_.string() + " error=\"" + file_.string() +
                        ":5: sla.tickets[0].resolutoin: unknown key; known: category, priority, "
                        "first_response, resolution\" digest=" +
                        DigestOf(two)));
  ExpectComplaintDueIn(customer, hours(2));
  EXPECT_EQ(DashboardReads(first), grpc::StatusCode::OK);

  // A role pattern that names no method: the whole file is refused, the
  // access table included.
  WriteFile(file_, kNoSuchMethod);
  ASSERT_NO_FATAL_FAILURE(Reload("refused", 2));
  EXPECT_THAT(suite_->Log(),
              HasSubstr("error=\"" + file_.string() +
                        ": roles.support.may[0]: 'SupportService/Nope' names no method"));
  EXPECT_EQ(Metric(metrics_port_, InfoSeries(DigestOf(two))), 1);
  ExpectComplaintDueIn(customer, hours(2));
  EXPECT_EQ(DashboardReads(first), grpc::StatusCode::OK);
  EXPECT_EQ(Metric(metrics_port_, ReloadsSeries("applied")), 1);

  // Each department store recorded the start and the one applied change.
  StopSuite(*suite_);
  for (const std::string store : {"sales", "installation", "support", "billing"}) {
    SCOPED_TRACE(store);
    auto recorded = Recorded(store);
    ASSERT_EQ(recorded.size(), 2u);
    EXPECT_EQ(recorded[0].digest(), DigestOf(eight));
    EXPECT_EQ(recorded[0].previous_digest(), "");
    EXPECT_EQ(recorded[0].source(), eight);
    EXPECT_EQ(recorded[0].file(), file_.string());
    EXPECT_EQ(recorded[1].digest(), DigestOf(two));
    EXPECT_EQ(recorded[1].previous_digest(), DigestOf(eight));
    EXPECT_EQ(recorded[1].source(), two);
  }

  // A restart with the file in force records nothing new.
  WriteFile(file_, two);
  suite_->Restart();
  ExpectComplaintDueIn(customer, hours(2));
  StopSuite(*suite_);
  EXPECT_EQ(Recorded("support").size(), 2u);
}

TEST_F(PolicyReloadE2E, HostileFilesOnReloadAreRefusedAndTheOldPolicyStays) {
  const std::string two = PolicyText("2h", false);
  Start(two);
  const std::string customer = Customer();
  ExpectComplaintDueIn(customer, hours(2));

  std::string bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) bomb += std::string(i ? "," : "") + "*" + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  const std::string huge = "#" + std::string(10 * 1000 * 1000, 'x') + "\n";
  const std::string zone =
      "calendars:\n"
      "  office:\n"
      "    time_zone: Mars/Olympus_Mons\n"
      "    hours: {mon: [\"08:00-17:00\"]}\n";
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {huge, ": 10000002 bytes is more than the limit of 1048576 bytes"},
      {bomb, ":1: a: anchors and aliases (&name, *name) are not allowed"},
      {zone,
       ":3: calendars.office.time_zone: 'Mars/Olympus_Mons' is not a time zone of the tz "
       "database"},
  };
  double refused = 0;
  for (const auto& [text, message] : hostile) {
    SCOPED_TRACE(message);
    WriteFile(file_, text);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(Reload("refused", ++refused));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_THAT(suite_->Log(), HasSubstr("error=\"" + file_.string() + message));
    EXPECT_EQ(Metric(metrics_port_, InfoSeries(DigestOf(two))), 1);
    ExpectComplaintDueIn(customer, hours(2));
  }
  EXPECT_EQ(Count(suite_->Log(), "policy file refused"), hostile.size());
  EXPECT_EQ(Metric(metrics_port_, ReloadsSeries("applied")), 0);
  StopSuite(*suite_);
  EXPECT_EQ(Recorded("support").size(), 1u);
}

// `serve` with a file it would refuse on reload: exit 2 and the reason on
// stderr, before anything starts.
TEST_F(PolicyReloadE2E, AStartWithABadOrMissingFileIsRefusedWithExitCode2) {
  struct Case {
    std::string text;  // empty: no file at all
    std::string message;
  };
  const std::vector<Case> cases = {
      {kUnknownKey, ":5: sla.tickets[0].resolutoin: unknown key"},
      {kNoSuchMethod, ": roles.support.may[0]: 'SupportService/Nope' names no method"},
      {"", ": no such file"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    const auto file = dir_.path() / ("start-" + std::to_string(++n) + ".yaml");
    if (!c.text.empty()) WriteFile(file, c.text);
    std::string output;
    const int status =
        RunThreadlineStatus({"serve", "--data-dir", DataDir(), "--listen", "127.0.0.1:0",
                             "--policy-file", file.string()},
                            (dir_.path() / ("start-" + std::to_string(n) + ".log")).string(),
                            std::chrono::seconds(30), &output);
    ASSERT_TRUE(WIFEXITED(status)) << status << "\n" << output;
    EXPECT_EQ(WEXITSTATUS(status), 2) << output;
    EXPECT_THAT(output, HasSubstr("threadline: --policy-file: "));
    EXPECT_THAT(output, HasSubstr(file.string() + c.message));
    EXPECT_FALSE(std::filesystem::exists(DataDir())) << "it started something:\n" << output;
  }
  // THREADLINE_POLICY_FILE is the same flag.
  WriteFile(file_, kUnknownKey);
  ASSERT_EQ(setenv("THREADLINE_POLICY_FILE", file_.string().c_str(), 1), 0);
  std::string output;
  const int status =
      RunThreadlineStatus({"serve", "--data-dir", DataDir(), "--listen", "127.0.0.1:0"},
                          (dir_.path() / "env.log").string(), std::chrono::seconds(30), &output);
  unsetenv("THREADLINE_POLICY_FILE");
  ASSERT_TRUE(WIFEXITED(status)) << status << "\n" << output;
  EXPECT_EQ(WEXITSTATUS(status), 2) << output;
  EXPECT_THAT(output, HasSubstr(file_.string() + ":5: sla.tickets[0].resolutoin: unknown key"));
}

}  // namespace
}  // namespace threadline::testing
