#pragma once

// Sealing the personal fields of a message: every string field marked
// `[(threadline.v1.personal) = true]` (proto/threadline/v1/options.proto),
// at any depth, is replaced by its Seal() under the customer's key. The
// associated data is `context` and the field's path by field numbers
// ("100.5.1", "104.3#2" for the third element of a repeated field), so a
// value moved to another field, another element or another event does not
// open. Field numbers, not names: a field may be renamed compatibly.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "threadline/privacy/crypto.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::privacy {

// Seals every non-empty personal field that is not sealed yet.
void SealMessage(google::protobuf::Message& msg, const Key& key, std::string_view context);

// Opens every sealed personal field in place. With `key` null (the subject
// was erased) every personal field reads as erased: empty, whether it was
// sealed or written in the clear by a build before sealing. A value that
// does not open is DATA_LOSS naming its path; `msg` is then partly opened
// and must be dropped. A personal field in the clear is left as it is (an
// event from before sealing).
absl::Status OpenMessage(google::protobuf::Message& msg, const Key* key, std::string_view context);

// True when some personal field of `msg` is not empty.
bool HasPersonal(const google::protobuf::Message& msg);

// True when some personal field of `msg` is sealed.
bool HasSealed(const google::protobuf::Message& msg);

// Whose key an event's personal fields are sealed under: its customer, or
// for an event without one (a missed call from an unknown number) its own
// stream.
std::string SubjectOf(const v1::EventEnvelope& e);

// The context of an event's fields: its event id.
std::string EventContext(const v1::EventEnvelope& e);

// SealMessage / OpenMessage of an event, in the event's context.
void SealEvent(v1::EventEnvelope& e, const Key& key);
absl::Status OpenEvent(v1::EventEnvelope& e, const Key* key);

}  // namespace threadline::privacy
