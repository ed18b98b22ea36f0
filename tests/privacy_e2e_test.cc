// Forgetting a person through the real binary on the embedded bus (label
// e2e): an export holds everything; after an erasure no byte of the
// person's name, phone number, e-mail or street is left in any file of the
// data directory or in the server's log, the card reads as erased, search
// finds nothing, commands are refused, a rebuild equals the live journey,
// and other customers are untouched.

#include "privacy_test_body.h"

namespace threadline::testing {
namespace {

class PrivacyE2E : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void Start() {
    suite_ = std::make_unique<SuiteProcess>(
        data_.string(), std::vector<std::string>{},
        (dir_.path() / ("threadline-" + std::to_string(++runs_) + ".log")).string());
  }
  void Stop() {
    suite_->Kill(SIGTERM);
    ASSERT_EQ(suite_->process()->Wait(std::chrono::seconds(30)), 0) << suite_->Log();
    suite_.reset();
  }
  PrivacyStoryTargets Targets() { return {suite_.get(), suite_.get(), suite_.get(), suite_.get()}; }

  TempDir dir_;
  std::filesystem::path data_ = dir_.path() / "data";
  std::unique_ptr<SuiteProcess> suite_;
  int runs_ = 0;
};

TEST_F(PrivacyE2E, AnErasedPersonLeavesNoTraceAndEveryoneElseIsUntouched) {
  const PrivacyStory story = SeedPrivacyStory(Targets());
  ASSERT_FALSE(HasFailure());
  ExportThenErase(Targets(), story);
  ASSERT_FALSE(HasFailure());
  Stop();

  // No trace in any file: stores, logs, the bus, the journey, its indexes,
  // the vault, and every log the server wrote. The customer's id is there:
  // the search reads what was written.
  EXPECT_FALSE(FilesContaining(data_, story.gone).empty());
  ExpectNoTraceUnder(dir_.path());

  Start();
  ExpectForgotten(Targets(), story);

  // A rebuild from the topics equals the live journey.
  Stop();
  const std::string rebuilt = (dir_.path() / "rebuilt").string();
  RunThreadline({"journey", "rebuild", "--out", rebuilt, "--data-dir", data_.string()},
                (dir_.path() / "rebuild.log").string());
  auto fingerprint = [&](const std::string& path, const std::string& log) {
    return LastLine(RunThreadline(
        {"journey", "fingerprint", "--path", path, "--data-dir", data_.string(), "--customer",
         story.before, "--customer", story.gone, "--customer", story.after},
        (dir_.path() / log).string()));
  };
  const std::string live = fingerprint((data_ / "journey").string(), "fp-live.log");
  EXPECT_FALSE(live.empty());
  EXPECT_EQ(live, fingerprint(rebuilt, "fp-rebuilt.log"));
}

// Nothing personal is ever stored or published unsealed: a process with
// departments or the journey and no key source does not start, and says
// which flag it needs.
TEST(PrivacyStart, WithoutKeysNoDepartmentOrJourneyStarts) {
  TempDir dir;
  struct Bad {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Bad> bad = {
      {{"--target", "sales"}, "--privacy-address"},
      {{"--target", "journey"}, "--privacy-address"},
      {{"--target", "support,billing"}, "--privacy-address"},
      {{"--target", "sales", "--privacy-address", "127.0.0.1:1", "--peer-token-file",
        (dir.path() / "no-such-token").string()},
       "peer token file"},
  };
  int n = 0;
  for (const auto& b : bad) {
    const auto data = dir.path() / ("data-" + std::to_string(n));
    std::vector<std::string> args{"serve", "--data-dir", data.string(), "--listen", "127.0.0.1:0"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    std::string log;
    const int status =
        RunThreadlineStatus(args, (dir.path() / ("serve-" + std::to_string(n++) + ".log")).string(),
                            std::chrono::seconds(30), &log);
    EXPECT_NE(status, -1) << b.args[1] << ": still running; log:\n" << log;
    EXPECT_NE(status, 0) << b.args[1] << ": started anyway";
    EXPECT_NE(log.find(b.expect), std::string::npos) << log;
    EXPECT_EQ(log.find("listening on port"), std::string::npos) << log;
    for (const char* store : {"sales", "support", "billing", "journey"}) {
      EXPECT_FALSE(std::filesystem::exists(data / store)) << store << " was opened";
    }
  }
  // A rebuild without keys would differ from the live journey: refused.
  ChildProcess rebuild(
      {BinaryFromEnv("THREADLINE_BIN"), "journey", "rebuild", "--out",
       (dir.path() / "rebuilt").string(), "--data-dir", (dir.path() / "data-0").string()},
      (dir.path() / "rebuild.log").string());
  const int status = rebuild.Wait(std::chrono::seconds(30));
  EXPECT_NE(status, 0) << rebuild.Log();
  EXPECT_NE(rebuild.Log().find("--privacy-address"), std::string::npos) << rebuild.Log();
}

}  // namespace
}  // namespace threadline::testing
