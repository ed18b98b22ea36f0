// libFuzzer target: bytes from a department topic, as the journey projector
// sees them. Decodes an EventEnvelope, applies the projector's poison checks
// (the same order and conditions as RocksProjector::Project, which parks what
// fails them on threadline.deadletter.v1), and runs everything the projector
// does with an accepted event: the timeline entry, its order key, the card
// fold on a fresh card and on a card that has seen every kind of event, the
// derived state at several times, and serializing the results.
//
// Built with clang, -fsanitize=fuzzer,address,undefined and no recovery:
// any out-of-bounds read, leak or undefined behaviour (signed overflow on a
// hostile timestamp or amount) is a crash. See tests/fuzz/README.md.

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>

#include "envelopes.h"
#include "threadline/common/clock.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/envelope_check.h"
#include "threadline/journey/projection.h"

namespace {

using threadline::TimePoint;
namespace v1 = threadline::v1;
namespace journey = threadline::journey;

// Mirrors RocksProjector::Project's checks; kept in the same order.
constexpr uint32_t kMaxSchemaVersion = 1;
bool Projectable(const v1::EventEnvelope& e) {
  if (e.event_id().empty()) return false;
  if (e.schema_version() > kMaxSchemaVersion) return false;
  if (e.payload_case() == v1::EventEnvelope::PAYLOAD_NOT_SET) return false;
  return true;
}

const v1::CustomerContext& RichCard() {
  static const v1::CustomerContext* card = [] {
    auto* c = new v1::CustomerContext;
    c->set_customer_id(threadline::fuzz::kCustomer);
    for (const auto& e : threadline::fuzz::OneOfEachKind()) journey::ApplyToCard(e, *c);
    return c;
  }();
  return *card;
}

void Project(const v1::EventEnvelope& e, v1::CustomerContext card) {
  v1::TimelineEntry entry = journey::ToEntry(e);
  (void)entry.SerializeAsString();
  // The timeline order key: occurred_at as microseconds.
  (void)threadline::ToUnixMicros(threadline::domain::FromProto(e.occurred_at()));
  journey::ApplyToCard(e, card);
  for (int64_t us : {int64_t{0}, int64_t{1'767'225'600'000'000}, int64_t{4'102'444'800'000'000}}) {
    v1::CustomerContext c = card;
    journey::RefreshDerived(c, threadline::FromUnixMicros(us));
    (void)c.SerializeAsString();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string that is not UTF-8; the fuzzer makes many.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::EventEnvelope e;
  if (!e.ParseFromArray(data, static_cast<int>(size))) return 0;  // parked: not an envelope
  // The door check runs on every envelope; what follows runs even on the
  // ones it refuses, so the projection stays safe without it.
  (void)threadline::domain::ValidateEnvelope(e);
  if (!Projectable(e)) return 0;          // parked with a reason
  if (e.customer_id().empty()) return 0;  // the projector records the id and moves on
  v1::CustomerContext fresh;
  fresh.set_customer_id(e.customer_id());
  Project(e, fresh);
  Project(e, RichCard());
  return 0;
}
