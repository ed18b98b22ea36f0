#pragma once

// What one department event means for a customer's journey: whether the
// journey can read it, the timeline entry a person reads, and how the
// context card changes. Pure functions: the projector feeds them in timeline
// order and stores the results.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "threadline/common/clock.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// The newest envelope schema_version this build understands.
inline constexpr uint32_t kMaxSchemaVersion = 1;

// Decodes a department topic's message value into `event`. Returns why the
// journey cannot project it (not an envelope, no event_id, a schema_version
// newer than kMaxSchemaVersion, no payload this build knows, or a field that
// fails domain::ValidateEnvelope), or an empty string if it can.
std::string DecodeEvent(std::string_view value, v1::EventEnvelope& event);

// The timeline entry for `event` (sequence left 0; the projector sets it).
v1::TimelineEntry ToEntry(const v1::EventEnvelope& event);

// Applies `event` to the customer's card. `now` is the projection time, used
// for derived states such as "at risk" and "overdue".
void ApplyToCard(const v1::EventEnvelope& event, v1::CustomerContext& card);

// True if `event` adds a callback to the card's open callbacks.
bool OpensCallback(const v1::EventEnvelope& event);

// The card of a customer whose events, in timeline order, are `events`:
// ApplyToCard over them, except that a callback with a CallbackCompleted
// anywhere among them is never left open. Clocks that disagree (a client's
// called_at ahead of the service's clock, or pods apart) can sort a
// completion before the call it answers; the card still closes it.
void FoldCard(const std::vector<v1::EventEnvelope>& events, v1::CustomerContext& card);

// Recomputes time-dependent parts of the card (commitments at risk,
// overdue callbacks) and the guidance flags.
void RefreshDerived(v1::CustomerContext& card, TimePoint now);

// How much of each list a card shows (see v1::CardOmissions). A shown card
// is at most a few hundred KiB, whatever a customer's history holds.
inline constexpr size_t kShownOpenCommitments = 25;
inline constexpr size_t kShownClosedCommitments = 10;
inline constexpr size_t kShownListElements = 50;
// Closed commitments the stored card keeps; older ones age out of it.
inline constexpr size_t kStoredClosedCommitments = 20;

// The card as a person or a subscriber sees it: every list bounded as
// above, the rest counted in `omitted`. Run after RefreshDerived, so that
// the guidance flags still see everything.
void BoundCard(v1::CustomerContext& card);

}  // namespace threadline::journey
