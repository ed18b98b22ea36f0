#include "threadline/policy/calendar.h"

#include <date/tz.h>

#include <algorithm>

#include "calendar_checks.h"
#include "text.h"
#include "threadline/domain/cat.h"

namespace threadline::policy {
namespace {

using domain::Cat;
using Nanos = TimePoint::duration;

// How far Add looks ahead for open time before it gives up.
constexpr auto kHorizon = std::chrono::hours(24 * 366 * 100);
// Before this everything is closed: keeps the arithmetic below clear of
// TimePoint::min().
constexpr TimePoint kEarliest{std::chrono::hours(-24 * 25567)};  // 1900-01-01

// A sys_info boundary as a TimePoint: the zone's first and last segments
// reach the years -32767 and 32767, beyond what TimePoint holds.
TimePoint Clamped(date::sys_seconds s) {
  constexpr auto kMax = std::chrono::floor<std::chrono::seconds>(TimePoint::max());
  constexpr auto kMin = std::chrono::ceil<std::chrono::seconds>(TimePoint::min());
  if (s >= kMax) return TimePoint::max();
  if (s <= kMin) return TimePoint::min();
  return std::chrono::time_point_cast<Nanos>(s);
}

}  // namespace

absl::StatusOr<Calendar> Calendar::Make(std::string name, std::string time_zone,
                                        std::array<std::vector<Period>, 7> periods,
                                        std::vector<date::year_month_day> holidays) {
  if (name.empty()) return absl::InvalidArgumentError("a calendar needs a name");
  const std::string what = Cat("calendar ", name, ": ");
  const date::time_zone* zone = internal::FindTimeZone(time_zone);
  if (zone == nullptr) {
    return absl::InvalidArgumentError(
        Cat(what, "time zone ", internal::Quote(time_zone),
            " is not in the tz database; use an IANA name such as Europe/Berlin"));
  }
  bool open = false;
  for (size_t day = 0; day < periods.size(); ++day) {
    if (auto problem = internal::CheckDay(periods[day])) {
      return absl::InvalidArgumentError(
          Cat(what, internal::kWeekdayNames[day], ": ", problem->message));
    }
    open |= !periods[day].empty();
  }
  if (!open) {
    return absl::InvalidArgumentError(
        Cat(what, "no open hours in the week; a calendar needs at least one period"));
  }
  if (holidays.size() > kMaxHolidays) {
    return absl::InvalidArgumentError(
        Cat(what, holidays.size(), " holidays is more than the limit of ", kMaxHolidays));
  }
  Calendar c;
  for (const auto& h : holidays) {
    if (!h.ok()) return absl::InvalidArgumentError(Cat(what, "a holiday is not a valid date"));
    c.holidays_.push_back(date::local_days(h));
  }
  std::sort(c.holidays_.begin(), c.holidays_.end());
  c.holidays_.erase(std::unique(c.holidays_.begin(), c.holidays_.end()), c.holidays_.end());
  c.name_ = std::move(name);
  c.time_zone_name_ = std::move(time_zone);
  c.zone_ = zone;
  c.periods_ = std::move(periods);
  return c;
}

Duration Calendar::OpenPerWeek() const {
  int minutes = 0;
  for (const auto& day : periods_) {
    for (const auto& [start, end] : day) minutes += end - start;
  }
  return std::chrono::minutes(minutes);
}

bool Calendar::IsHoliday(date::local_days day) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), day);
}

// The zone's offset is constant within one sys_info segment, so there the
// local reading rises with the instant: the periods of successive local
// days, shifted by that offset and clipped to the segment, come in time
// order, and the segments follow each other. This needs no to_sys() of a
// local time, so skipped and repeated local times need no special case.
template <typename Visit>
void Calendar::Walk(TimePoint from, Visit visit) const {
  TimePoint u = std::max(from, kEarliest);
  const TimePoint horizon =
      u < TimePoint::max() - 2 * kHorizon ? u + kHorizon : TimePoint::max() - kHorizon;
  while (u < horizon) {
    const date::sys_info info = zone_->get_info(u);
    const TimePoint segment_end = std::min(Clamped(info.end), horizon);
    const std::chrono::seconds offset = info.offset;
    date::local_days day =
        std::chrono::floor<date::days>(date::local_time<Nanos>((u + offset).time_since_epoch()));
    for (;; day += date::days(1)) {
      // When the wall clock would read 00:00 of `day`, at this offset.
      const TimePoint midnight = TimePoint(Nanos(day.time_since_epoch())) - offset;
      if (midnight >= segment_end) break;
      if (IsHoliday(day)) continue;
      const unsigned weekday = date::weekday(day).iso_encoding() - 1;  // Monday = 0
      for (const auto& [start, end] : periods_[weekday]) {
        const TimePoint b = std::max(midnight + std::chrono::minutes(start), u);
        const TimePoint e = std::min(midnight + std::chrono::minutes(end), segment_end);
        if (b < e && !visit(b, e)) return;
      }
    }
    u = segment_end;
  }
}

TimePoint Calendar::Add(TimePoint start, Duration d) const {
  if (d <= Duration::zero()) return start;
  Nanos left = d;
  TimePoint due = TimePoint::max();
  Walk(start, [&](TimePoint b, TimePoint e) {
    if (e - b >= left) {
      due = b + left;
      return false;
    }
    left -= e - b;
    return true;
  });
  return due;
}

Duration Calendar::OpenBetween(TimePoint a, TimePoint b) const {
  if (b <= a) return Duration::zero();
  Nanos open{0};
  Walk(a, [&](TimePoint s, TimePoint e) {
    if (s >= b) return false;
    open += std::min(e, b) - s;
    return e < b;
  });
  return std::chrono::floor<Duration>(open);
}

bool Calendar::IsOpen(TimePoint t) const {
  bool open = false;
  Walk(t, [&](TimePoint s, TimePoint) {
    open = s == t;
    return false;
  });
  return open;
}

}  // namespace threadline::policy
