// `threadline policy check FILE` through the real binary: a good file
// prints its digest and summary on stdout and exits 0; a bad one (roles
// that name no method included) prints file, line, key and reason on
// stderr and exits 1.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include "suite_process.h"
#include "threadline/policy/policy.h"

namespace threadline::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kGood[] = R"(calendars:
  berlin-office:
    time_zone: Europe/Berlin
    hours:
      mon: ["08:00-12:00", "13:00-18:00"]
      fri: ["08:00-12:00", "13:00-16:00"]
    holidays: ["2026-12-24"]
sla:
  tickets:
    - category: complaint
      priority: high
      first_response: {within: 2h, calendar: berlin-office}
  missed_call_callback: {within: 2h, calendar: berlin-office}
)";

constexpr char kBad[] = R"(sla:
  tickets:
    - category: complaint
      prority: high
)";

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout only
  std::string err;  // stderr only
};

// Runs `threadline ARGS...` twice through sh, once keeping only stdout and
// once only stderr, so the test sees which stream said what.
Outcome Threadline(const TempDir& dir, const std::vector<std::string>& args) {
  Outcome run;
  for (const bool want_stdout : {true, false}) {
    std::vector<std::string> argv = {
        "/bin/sh", "-c", want_stdout ? "exec \"$@\" 2>/dev/null" : "exec \"$@\" 2>&1 >/dev/null",
        "sh", BinaryFromEnv("THREADLINE_BIN")};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = (dir.path() / (want_stdout ? "out.log" : "err.log")).string();
    std::filesystem::remove(log);
    ChildProcess p(argv, log);
    const int status = p.Wait(std::chrono::seconds(30));
    if (status == -1) p.Kill(SIGKILL);
    EXPECT_TRUE(status != -1 && WIFEXITED(status)) << "wait status " << status;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    (want_stdout ? run.out : run.err) = p.Log();
  }
  return run;
}

TEST(PolicyCheckE2E, AGoodFileIsOkWithItsDigestAndSummary) {
  TempDir dir;
  const std::string file = (dir.path() / "policy.yaml").string();
  std::ofstream(file) << kGood;
  const Outcome run = Threadline(dir, {"policy", "check", file});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  auto expected = policy::Policy::Parse(kGood, file);
  ASSERT_OK(expected);
  EXPECT_THAT(run.out, StartsWith("policy " + file + ": ok, digest " + expected->digest() + "\n"));
  EXPECT_EQ(expected->digest().size(), 64u);
  EXPECT_THAT(run.out,
              HasSubstr("calendars: berlin-office (Europe/Berlin, 16h a week, 1 holiday)"));
  EXPECT_THAT(run.out, HasSubstr("missed-call callback 2h in berlin-office hours"));
  EXPECT_THAT(run.out, HasSubstr("role support: SupportService/*"));
  EXPECT_EQ(run.err, "");
}

TEST(PolicyCheckE2E, ABadFileFailsWithLineAndKeyOnStderr) {
  TempDir dir;
  const std::string file = (dir.path() / "policy.yaml").string();
  std::ofstream(file) << kBad;
  const Outcome run = Threadline(dir, {"policy", "check", file});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "threadline: " + file +
                         ":4: sla.tickets[0].prority: unknown key; known: category, priority, "
                         "first_response, resolution\n");
  EXPECT_EQ(run.out, "");
}

// What `serve --policy-file` refuses, the check refuses too: a pattern of
// valid form that names no method of any service.
TEST(PolicyCheckE2E, ARoleThatNamesNoMethodFails) {
  TempDir dir;
  const std::string file = (dir.path() / "policy.yaml").string();
  std::ofstream(file)
      << "roles:\n  support:\n    may: [\"SupportService/*\", \"TicketService/*\"]\n";
  const Outcome run = Threadline(dir, {"policy", "check", file});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, StartsWith("threadline: " + file +
                                  ": roles.support.may[1]: 'TicketService/*' names no method of "));
  EXPECT_EQ(run.out, "");
}

TEST(PolicyCheckE2E, AMissingOrHugeFileFails) {
  TempDir dir;
  const std::string missing = (dir.path() / "none.yaml").string();
  const Outcome none = Threadline(dir, {"policy", "check", missing});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("cannot read policy file " + missing));

  const std::string huge = (dir.path() / "huge.yaml").string();
  std::ofstream(huge) << "#" << std::string(2 << 20, 'x') << "\n";
  const Outcome big = Threadline(dir, {"policy", "check", huge});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_THAT(big.err, HasSubstr(huge + ": 2097154 bytes is more than the limit of 1048576 bytes"));
  EXPECT_THAT(big.out, Not(HasSubstr("ok")));
}

TEST(PolicyCheckE2E, TheDefaultsArePrintedAndPassTheCheck) {
  TempDir dir;
  const Outcome defaults = Threadline(dir, {"policy", "defaults"});
  EXPECT_EQ(defaults.exit_code, 0);
  EXPECT_EQ(defaults.out, policy::Policy::Defaults().source());
  const std::string file = (dir.path() / "defaults.yaml").string();
  std::ofstream(file) << defaults.out;
  const Outcome check = Threadline(dir, {"policy", "check", file});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out,
              StartsWith("policy " + file + ": ok, digest " + policy::Policy::Defaults().digest()));
}

}  // namespace
}  // namespace threadline::testing
