// Fault test (labels faults, kafka): every service in its own process on a
// private Kafka broker that this test stops and starts. A steady, bounded
// load of commands runs across sales, installation, support and billing
// (tests/faults_load.h) while
//   - each department process in turn is SIGKILLed mid-load and restarted,
//   - the journey projector is SIGKILLed and restarted repeatedly,
//   - the privacy process (the key vault every other process fetches its
//     keys from) is SIGKILLed and restarted,
//   - the broker is stopped for several seconds, while the departments keep
//     acknowledging commands into their outboxes, and started again; the
//     outboxes then drain.
// After the load, with the system settled, it checks (CheckAfterLoad in
// tests/faults_checks.h, shared with cluster_faults_kafkatest) that
//   - every acknowledged command has its events in Kafka, exactly once in
//     its department's store (a retry appended nothing), and exactly one
//     entry on the right customer's timeline;
//   - nothing unacknowledged is half-applied: a rejected command left no
//     event; an abandoned one (the client gave up while the service was
//     gone) left none or all of them - in its store, in Kafka, on the
//     timeline and in the other departments' reactions;
//   - every store equals its Kafka topic, every event with a customer is on
//     that customer's timeline once, and the live journey equals a rebuild
//     from scratch (threadline journey rebuild / fingerprint),
// and prints the counts.
//
// Bounds, from the environment (small defaults for CI; scripts/soak raises
// them):
//   THREADLINE_FAULTS_COMMANDS        most commands issued          (3000)
//   THREADLINE_FAULTS_SECONDS         longest load, seconds         (150)
//   THREADLINE_FAULTS_RATE            commands/s over all services  (24)
//   THREADLINE_FAULTS_ROUNDS          runs of the fault schedule    (1)
//   THREADLINE_FAULTS_JOURNEY_KILLS   journey SIGKILLs per round    (3)
//   THREADLINE_FAULTS_OUTAGE_SECONDS  broker downtime per round     (5)
// The load ends once the fault schedule is done (or at a bound, which
// fails the test if it comes first).

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "faults_checks.h"

namespace threadline::testing::faults {
namespace {

TEST(Faults, KillsAndABrokerOutageUnderLoadLoseNothingDoubleNothingHalfApplyNothing) {
  ASSERT_NE(std::getenv("THREADLINE_KAFKA_SCRIPT"), nullptr)
      << "run through ctest -L faults (needs THREADLINE_KAFKA_SCRIPT)";
  const Bounds bounds = BoundsFromEnv({.commands = 3000, .seconds = 150, .rate = 24});
  const int rounds = std::max(1, EnvInt("THREADLINE_FAULTS_ROUNDS", 1));
  const int journey_kills = std::max(1, EnvInt("THREADLINE_FAULTS_JOURNEY_KILLS", 3));
  const auto outage =
      std::chrono::seconds(std::max(1, EnvInt("THREADLINE_FAULTS_OUTAGE_SECONDS", 5)));
  Stopwatch watch;

  TempDir dir;
  KeepOnFailure keep{dir.path()};
  PrivateBroker broker((dir.path() / "kafka").string());
  ASSERT_TRUE(broker.Start(/*fresh=*/true));
  const std::string brokers = broker.Bootstrap();
  ASSERT_FALSE(brokers.empty());
  watch.Note("private broker on " + brokers);

  Services services(dir.path(), brokers);
  ASSERT_FALSE(HasFailure()) << "the services did not start";
  watch.Note("six services up, one process each");
  auto& depts = services.depts;
  SuiteProcess& journey = *services.journey;
  SuiteProcess& privacy = *services.privacy;

  // --- Load, and the faults while it runs --------------------------------
  Load load(bounds, services.dept_ptrs);
  load.Start();
  int department_restarts = 0, journey_restarts = 0, broker_restarts = 0, privacy_restarts = 0;
  double drain_seconds = 0;
  std::map<std::string, int> acked_during_outage;
  auto kill_journey = [&] {
    services.CountJourneyDuplicates();
    watch.Note("SIGKILL journey (acknowledged so far: " + std::to_string(load.Acked()) + ")");
    journey.Kill(SIGKILL);
    journey.Restart();
    ++journey_restarts;
  };

  for (int round = 0; round < rounds; ++round) {
    int journey_killed = 0;
    for (const auto& name : kDepartments) {
      Dept& d = *depts[name];
      ASSERT_TRUE(load.Flowing(15)) << kBoundsHint;
      watch.Note("SIGKILL " + name + " (acknowledged so far: " + std::to_string(load.Acked()) +
                 ")");
      const int transient = d.transient.load();
      const bool mid_command = d.KillMidCommand(SIGKILL, std::chrono::seconds(10));
      // The load finds the service gone before it comes back.
      EXPECT_TRUE(WaitFor([&] { return d.transient.load() > transient; }, std::chrono::seconds(30)))
          << "no command noticed that " << name << " was gone";
      watch.Note(name + " killed " +
                 (mid_command ? "while handling a command" : "between commands") +
                 "; restarting it");
      d.process->Restart();
      ASSERT_FALSE(HasFailure()) << name << " did not come back";
      const int after = d.acked.load();
      ASSERT_TRUE(WaitFor([&] { return d.acked.load() > after; }, std::chrono::seconds(60)))
          << name << " acknowledged nothing after its restart\n"
          << d.process->Log();
      ++department_restarts;
      if (journey_killed < journey_kills && name != kDepartments.back()) {
        kill_journey();
        ASSERT_FALSE(HasFailure()) << "journey did not come back";
        ++journey_killed;
      }
    }
    for (; journey_killed < journey_kills; ++journey_killed) {
      ASSERT_TRUE(load.Flowing(10)) << kBoundsHint;
      kill_journey();
      ASSERT_FALSE(HasFailure()) << "journey did not come back";
    }

    // The key vault goes away: what needs a key no process has cached
    // waits for it (UNAVAILABLE, retried by the load), then the load flows
    // on.
    ASSERT_TRUE(load.Flowing(10)) << kBoundsHint;
    watch.Note("SIGKILL privacy (acknowledged so far: " + std::to_string(load.Acked()) + ")");
    privacy.Kill(SIGKILL);
    privacy.Restart();
    ASSERT_FALSE(HasFailure()) << "privacy did not come back";
    ++privacy_restarts;
    ASSERT_TRUE(load.Flowing(15)) << kBoundsHint << "\nafter the privacy restart";

    // The broker goes away; the departments keep acknowledging commands
    // into their outboxes.
    ASSERT_TRUE(load.Flowing(15)) << kBoundsHint;
    watch.Note("stopping the broker (acknowledged so far: " + std::to_string(load.Acked()) + ")");
    ASSERT_TRUE(broker.Stop());
    load.SetOutage(true);
    const size_t first_of_outage = load.Commands().size();
    const auto down_at = Steady::now();
    std::map<std::string, int> before;
    for (const auto& [name, d] : depts) before[name] = d->acked.load();
    const bool filled = WaitFor(
        [&] {
          if (Steady::now() - down_at < outage) return false;
          for (const auto& [name, d] : depts) {
            if (d->acked.load() <= before[name]) return false;
          }
          return true;
        },
        outage + std::chrono::seconds(60));
    load.SetOutage(false);
    std::string during;
    for (const auto& [name, d] : depts) {
      acked_during_outage[name] += d->acked.load() - before[name];
      during += " " + name + "=" + std::to_string(d->acked.load() - before[name]);
    }
    // Those commands wait in the outboxes: none of them can have reached
    // the journey, which only hears of them through Kafka.
    std::vector<Command> outage_commands = load.Commands();
    outage_commands.erase(outage_commands.begin(),
                          outage_commands.begin() + static_cast<std::ptrdiff_t>(first_of_outage));
    std::erase_if(outage_commands, [](const Command& c) { return !c.during_outage; });
    TimelineWatch drained(outage_commands);
    EXPECT_EQ(drained.Present(services.journey_channel), 0u)
        << "commands acknowledged while Kafka was down are on the journey already";
    watch.Note("starting the broker again; acknowledged while it was down:" + during);
    const auto up_at = Steady::now();
    ASSERT_TRUE(broker.Start(/*fresh=*/false));
    ++broker_restarts;
    EXPECT_TRUE(filled) << "not every department acknowledged commands while Kafka was down:"
                        << during;
    EXPECT_EQ(broker.Bootstrap(), brokers) << "the broker came back on another address";

    // The outboxes drain: what was acknowledged during the outage reaches
    // the journey.
    ASSERT_TRUE(
        WaitFor([&] { return drained.Done(services.journey_channel); }, std::chrono::seconds(120)))
        << "the outboxes did not drain: " << drained.missing();
    drain_seconds = std::chrono::duration<double>(Steady::now() - up_at).count();
    watch.Note("outboxes drained " + std::to_string(drain_seconds) +
               " s after the broker start began (" + std::to_string(outage_commands.size()) +
               " commands)");
  }
  ASSERT_TRUE(load.Flowing(10)) << kBoundsHint;
  load.Stop();
  const std::vector<Command> commands = load.Commands();
  watch.Note("load stopped: " + std::to_string(commands.size()) + " commands issued");
  Tally tally;
  ASSERT_NO_FATAL_FAILURE(CheckAfterLoad(services, commands, watch, &tally));
  for (const auto& [name, n] : acked_during_outage) {
    EXPECT_GT(n, 0) << name << " acknowledged nothing while the broker was down";
  }
  PrintTally(tally, "the broker outage");
  std::cout << "faults: restarts survived="
            << department_restarts + journey_restarts + broker_restarts + privacy_restarts
            << " (departments=" << department_restarts << " journey=" << journey_restarts
            << " privacy=" << privacy_restarts << " broker=" << broker_restarts
            << "), outboxes drained " << std::fixed << std::setprecision(1) << drain_seconds
            << " s after the broker start began, total " << watch.Seconds() << " s" << std::endl;
}

}  // namespace
}  // namespace threadline::testing::faults
