#include "threadline/policy/calendar.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "threadline/policy/policy.h"
#include "threadline/testing/testing.h"

namespace threadline::policy {
namespace {

using date::April;
using date::December;
using date::February;
using date::January;
using date::June;
using date::March;
using date::October;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using namespace date::literals;

// Times in failure messages read as times.
std::string Utc(TimePoint t) { return date::format("%F %T UTC", std::chrono::floor<seconds>(t)); }

TimePoint UtcAt(date::year_month_day day, minutes time) {
  return TimePoint(date::sys_days(day) + time);
}

// A local wall-clock time in Europe/Berlin that exists and is not repeated.
TimePoint Berlin(date::year_month_day day, minutes time) {
  return date::locate_zone("Europe/Berlin")->to_sys(date::local_days(day) + time);
}

constexpr minutes H(int h, int m = 0) { return hours(h) + minutes(m); }

std::array<std::vector<Period>, 7> Weekdays(std::vector<Period> each, std::vector<Period> friday) {
  return {each, each, each, each, friday, {}, {}};
}

Calendar Make(std::string tz, std::array<std::vector<Period>, 7> periods,
              std::vector<date::year_month_day> holidays = {}) {
  auto c = Calendar::Make("test", std::move(tz), std::move(periods), std::move(holidays));
  EXPECT_OK(c);
  return std::move(c).value();
}

// Mon-Fri 08:00-18:00, Europe/Berlin.
Calendar Office(std::vector<date::year_month_day> holidays = {}) {
  return Make("Europe/Berlin", Weekdays({{480, 1080}}, {{480, 1080}}), std::move(holidays));
}

// Saturday 22:00-24:00 and Sunday 00:00-06:00: the hours of the clock
// changes in Europe, which happen on Sunday at 02:00 / 03:00 local.
Calendar NightShift() {
  std::array<std::vector<Period>, 7> p;
  p[5] = {{22 * 60, 24 * 60}};
  p[6] = {{0, 6 * 60}};
  return Make("Europe/Berlin", p);
}

TEST(CalendarTest, FridayAfternoonIsDueMondayMorning) {
  const Calendar office = Office();
  // Friday 2026-06-05 17:00: 1 h on Friday, 3 h on Monday.
  const TimePoint opened = Berlin(2026_y / June / 5, H(17));
  const TimePoint due = office.Add(opened, hours(4));
  EXPECT_EQ(Utc(due), Utc(Berlin(2026_y / June / 8, H(11))));
  EXPECT_EQ(Utc(due), "2026-06-08 09:00:00 UTC");
  EXPECT_EQ(office.OpenBetween(opened, due), hours(4));
}

TEST(CalendarTest, ATargetThatEndsAtClosingIsDueAtClosing) {
  const Calendar office = Office();
  const TimePoint opened = Berlin(2026_y / June / 5, H(17));
  EXPECT_EQ(Utc(office.Add(opened, hours(1))), Utc(Berlin(2026_y / June / 5, H(18))));
}

TEST(CalendarTest, AStartInClosedTimeCountsFromTheNextOpening) {
  const Calendar office = Office();
  // Saturday noon: the clock starts Monday 08:00.
  const TimePoint saturday = Berlin(2026_y / June / 6, H(12));
  EXPECT_EQ(Utc(office.Add(saturday, hours(2))), Utc(Berlin(2026_y / June / 8, H(10))));
  EXPECT_FALSE(office.IsOpen(saturday));
  EXPECT_TRUE(office.IsOpen(Berlin(2026_y / June / 8, H(8))));
  EXPECT_FALSE(office.IsOpen(Berlin(2026_y / June / 8, H(18))));  // [start, end)
}

TEST(CalendarTest, HolidaysAreSkipped) {
  // Wednesday 2026-12-23 17:00; Thursday 24 and Friday 25 are holidays.
  const TimePoint opened = Berlin(2026_y / December / 23, H(17));
  const Calendar without = Office();
  EXPECT_EQ(Utc(without.Add(opened, hours(4))), Utc(Berlin(2026_y / December / 24, H(11))));
  const Calendar with = Office({2026_y / December / 24, 2026_y / December / 25});
  const TimePoint due = with.Add(opened, hours(4));
  EXPECT_EQ(Utc(due), "2026-12-28 10:00:00 UTC");  // Monday 11:00 CET
  EXPECT_FALSE(with.IsOpen(Berlin(2026_y / December / 24, H(10))));
  EXPECT_EQ(with.OpenBetween(opened, due), hours(4));
}

TEST(CalendarTest, AWeekendWithTheSpringChangeKeepsLocalHours) {
  // Friday 2027-03-26 17:00 CET (UTC+1) to Monday 11:00 CEST (UTC+2).
  const Calendar office = Office();
  const TimePoint opened = Berlin(2027_y / March / 26, H(17));
  EXPECT_EQ(Utc(opened), "2027-03-26 16:00:00 UTC");
  EXPECT_EQ(Utc(office.Add(opened, hours(4))), "2027-03-29 09:00:00 UTC");
}

TEST(CalendarTest, HoursAcrossTheSpringChangeLoseTheSkippedHour) {
  // 2027-03-28 02:00 CET becomes 03:00 CEST (01:00 UTC). From Saturday
  // 23:00 CET: 1 h to midnight, 2 h to 02:00, then from 03:00 CEST 1 h.
  const Calendar night = NightShift();
  const TimePoint opened = Berlin(2027_y / March / 27, H(23));
  EXPECT_EQ(Utc(opened), "2027-03-27 22:00:00 UTC");
  EXPECT_EQ(Utc(night.Add(opened, hours(4))), "2027-03-28 02:00:00 UTC");  // 04:00 CEST
  // Sunday 00:00-06:00 local is five hours long that day.
  EXPECT_EQ(night.OpenBetween(UtcAt(2027_y / March / 27, H(23)), UtcAt(2027_y / March / 28, H(4))),
            hours(5));
  EXPECT_TRUE(night.IsOpen(UtcAt(2027_y / March / 28, H(0, 59))));  // 01:59 CET
  EXPECT_TRUE(night.IsOpen(UtcAt(2027_y / March / 28, H(1))));      // 03:00 CEST
  EXPECT_FALSE(night.IsOpen(UtcAt(2027_y / March / 28, H(4))));     // 06:00 CEST
}

TEST(CalendarTest, HoursAcrossTheAutumnChangeCountTheRepeatedHourTwice) {
  // 2026-10-25 03:00 CEST becomes 02:00 CET (01:00 UTC). From Saturday
  // 23:00 CEST: 1 h to midnight, then 4 h of real time, through the hour
  // from 02:00 to 03:00 twice.
  const Calendar night = NightShift();
  const TimePoint opened = Berlin(2026_y / October / 24, H(23));
  EXPECT_EQ(Utc(opened), "2026-10-24 21:00:00 UTC");
  EXPECT_EQ(Utc(night.Add(opened, hours(5))), "2026-10-25 02:00:00 UTC");  // 03:00 CET
  // Sunday 00:00-06:00 local is seven hours long that day.
  EXPECT_EQ(
      night.OpenBetween(UtcAt(2026_y / October / 24, H(22)), UtcAt(2026_y / October / 25, H(5))),
      hours(7));
  EXPECT_TRUE(night.IsOpen(UtcAt(2026_y / October / 25, H(0, 30))));  // 02:30 CEST
  EXPECT_TRUE(night.IsOpen(UtcAt(2026_y / October / 25, H(1, 30))));  // 02:30 CET
  EXPECT_FALSE(night.IsOpen(UtcAt(2026_y / October / 25, H(5))));     // 06:00 CET
}

TEST(CalendarTest, ALunchBreakIsSkipped) {
  const Calendar office =
      Make("Europe/Berlin", Weekdays({{480, 720}, {780, 1080}}, {{480, 720}, {780, 960}}));
  // Monday 11:00 + 2 h: 1 h to 12:00, lunch, 1 h from 13:00.
  const TimePoint opened = Berlin(2026_y / June / 8, H(11));
  EXPECT_EQ(Utc(office.Add(opened, hours(2))), Utc(Berlin(2026_y / June / 8, H(14))));
  EXPECT_FALSE(office.IsOpen(Berlin(2026_y / June / 8, H(12, 30))));
  EXPECT_EQ(office.OpenBetween(Berlin(2026_y / June / 8, H(0)), Berlin(2026_y / June / 9, H(0))),
            hours(9));
  // Friday closes at 16:00: 15:00 + 2 h is Monday 09:00.
  EXPECT_EQ(Utc(office.Add(Berlin(2026_y / June / 12, H(15)), hours(2))),
            Utc(Berlin(2026_y / June / 15, H(9))));
  EXPECT_EQ(office.OpenPerWeek(), hours(9 * 4 + 7));
}

TEST(CalendarTest, APauseOverAClosedNightMovesNothing) {
  const Calendar office = Office();
  Target target{hours(4), &office, "office"};
  // Monday 16:00 + 4 h: Tuesday 10:00.
  const TimePoint due = target.Due(Berlin(2026_y / June / 8, H(16)));
  EXPECT_EQ(Utc(due), Utc(Berlin(2026_y / June / 9, H(10))));
  // Paused from 19:00 to 22:00, when the office is closed.
  const Duration left = target.Remaining(Berlin(2026_y / June / 8, H(19)), due);
  EXPECT_EQ(left, hours(2));
  EXPECT_EQ(Utc(target.Resume(Berlin(2026_y / June / 8, H(22)), left)), Utc(due));
  // Paused from 08:30 to 09:30 on Tuesday, in open time: an hour later.
  const Duration left2 = target.Remaining(Berlin(2026_y / June / 9, H(8, 30)), due);
  EXPECT_EQ(left2, minutes(90));
  EXPECT_EQ(Utc(target.Resume(Berlin(2026_y / June / 9, H(9, 30)), left2)),
            Utc(Berlin(2026_y / June / 9, H(11))));
  // Overdue when paused: resumes overdue at once.
  EXPECT_EQ(target.Remaining(due + hours(1), due), Duration::zero());
}

TEST(CalendarTest, AWallClockPauseShiftsByItsLength) {
  Target target;
  target.within = hours(4);
  const TimePoint opened = UtcAt(2026_y / June / 8, H(16));
  const TimePoint due = target.Due(opened);
  EXPECT_EQ(Utc(due), "2026-06-08 20:00:00 UTC");
  const Duration left = target.Remaining(UtcAt(2026_y / June / 8, H(19)), due);
  EXPECT_EQ(left, hours(1));
  EXPECT_EQ(Utc(target.Resume(UtcAt(2026_y / June / 8, H(22)), left)), "2026-06-08 23:00:00 UTC");
}

TEST(CalendarTest, MakeRefusesWhatCannotBeACalendar) {
  auto closed = Calendar::Make("closed", "Europe/Berlin", {}, {});
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(closed.status().message().find("no open hours"), absl::string_view::npos)
      << closed.status();

  auto zone = Calendar::Make("x", "Mars/Olympus_Mons", Weekdays({{480, 1080}}, {}), {});
  ASSERT_FALSE(zone.ok());
  EXPECT_NE(zone.status().message().find("'Mars/Olympus_Mons' is not in the tz database"),
            absl::string_view::npos)
      << zone.status();
  EXPECT_FALSE(Calendar::Make("x", "../../etc/passwd", Weekdays({{480, 1080}}, {}), {}).ok());

  auto overlap = Calendar::Make("x", "UTC", Weekdays({{480, 720}, {700, 800}}, {}), {});
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.status().message().find("mon: 11:40-13:20 overlaps 08:00-12:00"),
            absl::string_view::npos)
      << overlap.status();
  auto order = Calendar::Make("x", "UTC", Weekdays({{780, 900}, {480, 720}}, {}), {});
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("time order"), absl::string_view::npos) << order.status();
  EXPECT_FALSE(Calendar::Make("x", "UTC", Weekdays({{480, 1500}}, {}), {}).ok());
  EXPECT_FALSE(Calendar::Make("x", "UTC", Weekdays({{600, 600}}, {}), {}).ok());
  EXPECT_FALSE(
      Calendar::Make("x", "UTC", Weekdays({{480, 1080}}, {}), {2026_y / February / 30}).ok());
  // Touching periods are fine.
  EXPECT_OK(Calendar::Make("x", "UTC", Weekdays({{480, 720}, {720, 1080}}, {}), {}));
}

TEST(CalendarTest, OpenTimeBeforeATimeIsZero) {
  const Calendar office = Office();
  const TimePoint t = Berlin(2026_y / June / 8, H(10));
  EXPECT_EQ(office.OpenBetween(t, t), Duration::zero());
  EXPECT_EQ(office.OpenBetween(t, t - hours(1)), Duration::zero());
  EXPECT_EQ(office.Add(t, Duration::zero()), t);
}

// Add and OpenBetween undo each other at any instant, to the nanosecond,
// on calendars with breaks, holidays and clock changes.
TEST(CalendarTest, AddAndOpenBetweenAreInverse) {
  const std::vector<Calendar> calendars = {
      Make("Europe/Berlin", Weekdays({{480, 720}, {780, 1080}}, {{480, 720}, {780, 960}}),
           {2026_y / December / 24, 2026_y / December / 25, 2027_y / April / 2}),
      NightShift(),
      Make("America/New_York", Weekdays({{9 * 60, 17 * 60}}, {{9 * 60, 13 * 60}})),
      // Clocks there move by 30 minutes, at 02:00.
      Make("Australia/Lord_Howe",
           std::array<std::vector<Period>, 7>{{{{0, 1440}}, {}, {}, {}, {}, {}, {{120, 150}}}}),
  };
  std::mt19937_64 random(20260328);
  const int64_t from =
      std::chrono::duration_cast<seconds>(UtcAt(2026_y / January / 1, H(0)).time_since_epoch())
          .count();
  std::uniform_int_distribution<int64_t> second_of(0, 2 * 366 * 86400);
  std::uniform_int_distribution<int64_t> nanos(0, 999'999'999);
  std::uniform_int_distribution<int64_t> span(1, 20 * 86400);
  for (const Calendar& c : calendars) {
    for (int i = 0; i < 400; ++i) {
      const TimePoint a =
          TimePoint(seconds(from + second_of(random))) + std::chrono::nanoseconds(nanos(random));
      const Duration d = seconds(span(random));
      const TimePoint due = c.Add(a, d);
      ASSERT_EQ(c.OpenBetween(a, due), d)
          << c.time_zone() << " from " << Utc(a) << " + " << d.count() << "s";
      ASSERT_GE(due, a);

      const TimePoint b = a + seconds(span(random));
      const Duration open = c.OpenBetween(a, b);
      const TimePoint back = c.Add(a, open);
      ASSERT_LE(back, b) << c.time_zone() << " " << Utc(a) << " .. " << Utc(b);
      ASSERT_EQ(c.OpenBetween(back, b), Duration::zero()) << c.time_zone() << " " << Utc(a);
    }
  }
}

}  // namespace
}  // namespace threadline::policy
