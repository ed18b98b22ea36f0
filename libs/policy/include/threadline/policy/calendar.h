#pragma once

// Business hours: the opening times, in one time zone, during which a
// service-level clock runs.

#include <date/date.h>

#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"

namespace date {
class time_zone;
}  // namespace date

namespace threadline::policy {

// Every duration of a policy, in whole seconds. A policy file writes
// targets in whole minutes; seconds keep the open time left on a paused
// clock (Target::Remaining) within a second of the exact value, where whole
// minutes would lose up to one a pause.
using Duration = std::chrono::seconds;

// A local opening period [start, end) in minutes from local midnight:
// 0 <= start < end <= 24 * 60.
using Period = std::pair<int, int>;

// Opening hours in a time zone: local periods per weekday, and dated
// holidays that are closed all day. Open time is every instant whose local
// wall-clock reading falls in a period of its local day, so an hour the
// clocks skip in spring is never open and an hour they repeat in autumn is
// open twice.
//
// Immutable once made; thread-safe; cheap to copy. The time zone points
// into date's process-wide tz database (the OS's, /usr/share/zoneinfo),
// which is never freed. That reader knows the transitions the zone files
// list, up to 2037; later years keep the offset of the last one.
class Calendar {
 public:
  static constexpr int kMinutesPerDay = 24 * 60;
  // More would only slow every Add over them down.
  static constexpr size_t kMaxHolidays = 1000;

  // Builds and validates: `time_zone` is an IANA name known to the tz
  // database; each weekday's periods (index 0 = Monday ... 6 = Sunday) lie
  // within the day, are in time order and do not overlap (touching is
  // fine); at least one period in the week; holidays are valid dates (at
  // most kMaxHolidays; repeats are ignored). InvalidArgument naming the
  // calendar and what is wrong otherwise.
  [[nodiscard]] static absl::StatusOr<Calendar> Make(std::string name, std::string time_zone,
                                                     std::array<std::vector<Period>, 7> periods,
                                                     std::vector<date::year_month_day> holidays);

  const std::string& name() const { return name_; }
  const std::string& time_zone() const { return time_zone_name_; }
  const std::array<std::vector<Period>, 7>& periods() const { return periods_; }
  // Sorted, without repeats.
  const std::vector<date::local_days>& holidays() const { return holidays_; }
  // Open time in a week without holidays or clock changes.
  Duration OpenPerWeek() const;

  // The instant by which `d` of open time has passed since `start`: a start
  // in closed time counts from the next opening, and a target that runs
  // out exactly at a closing is due at that closing (Friday 18:00, not
  // Monday 08:00). `start` when d <= 0. TimePoint::max() when the calendar
  // does not give `d` within 100 years (only a calendar closed by
  // holidays for longer could).
  TimePoint Add(TimePoint start, Duration d) const;
  // Open time in [a, b), rounded down to whole seconds; zero when b <= a.
  // OpenBetween(a, Add(a, d)) == d for every a and d > 0.
  Duration OpenBetween(TimePoint a, TimePoint b) const;
  bool IsOpen(TimePoint t) const;

 private:
  Calendar() = default;

  // Calls visit(begin, end) for each open interval at or after `from`, in
  // time order, until it returns false or 100 years have been looked at.
  // Instants before 1900 count as closed.
  template <typename Visit>
  void Walk(TimePoint from, Visit visit) const;
  bool IsHoliday(date::local_days day) const;

  std::string name_;
  std::string time_zone_name_;
  const date::time_zone* zone_ = nullptr;
  std::array<std::vector<Period>, 7> periods_;
  std::vector<date::local_days> holidays_;
};

}  // namespace threadline::policy
