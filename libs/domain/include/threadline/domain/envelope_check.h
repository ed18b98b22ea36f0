#pragma once

// The door check of an envelope read from a bus: every consumer (the
// journey projector and the departments' reactors) runs it before an
// envelope's fields reach a key, a card or a reaction. Events on a topic
// were validated as commands when they were recorded, but a topic accepts
// whatever a producer with access writes, so a consumer checks again.
//
// Pure and thread-safe.

#include "absl/status/status.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::domain {

// INVALID_ARGUMENT naming the first field that fails, and why, without
// quoting the hostile value:
// - event_id is required; event_id, customer_id and every other field named
//   "*_id" or "*_ids", at any depth, are at most kMaxIdLength bytes of
//   printable ASCII without spaces (so no NUL or other separator can reach
//   a key); technician_id, free text the command bounds to kMaxIdLength,
//   is checked as such;
// - every other string, at any depth, is valid UTF-8 of at most
//   kMaxTextLength bytes with no NUL (a PolicyChanged's source, the
//   operator's policy text, at most kMaxPolicySourceBytes);
// - every enum, at any depth, is a value this build knows;
// - every timestamp that is set lies within [2000-01-01, 2100-01-01).
// Fields left unset are not checked: what a consumer requires of a payload
// is for that consumer to say. (Protobuf itself refuses to parse a proto3
// string that is not UTF-8; the check here also covers envelopes that were
// built rather than parsed.)
// - the envelope is at most kMaxEnvelopeBytes serialised, and no repeated
//   field has more than 100 * kMaxRepeated elements (an invoice's lines
//   are not bounded by one command's kMaxRepeated).
[[nodiscard]] absl::Status ValidateEnvelope(const v1::EventEnvelope& envelope);

// INVALID_ARGUMENT when a message of `size` bytes is larger than any
// envelope may be: checked before parsing, so a huge message costs no parse.
[[nodiscard]] absl::Status CheckEnvelopeSize(size_t size);

}  // namespace threadline::domain
