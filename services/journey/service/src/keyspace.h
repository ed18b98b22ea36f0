#pragma once

// Every key family of the journey store: the column family it lives in, how
// its keys are encoded and what its values hold. Nothing else in the journey
// spells a key.
//
// Layout 2 (this build): one column family per access pattern.
//
//   family     key                                  value
//   default    "m/layout"                           BE32 kLayoutVersion
//   (meta)     "m/seq"                              BE64 last journey sequence
//              "m/pub"                              BE64 last sequence confirmed on
//                                                   the journey topic
//              "o/" topic NUL BE32 partition        BE64 next offset to consume
//   envelopes  customer NUL order                   EventEnvelope (to fold a card again)
//   timeline   customer NUL order                   TimelineEntry
//   cards      customer                             CustomerContext
//   seen       event_id                             "" (de-duplication)
//   search     "p/" phone (E.164)                   customer
//              "r/" digits reversed NUL customer    ""
//              "e/" email                           customer
//              "n/" lower-case name NUL customer    ""
//              with a key source (sealing), blinded instead (crypto.h Blind):
//              "p/" Blind(phone)                    customer
//              "r/" Blind(digit suffix) NUL customer ""
//              "e/" Blind(email)                    customer
//              "n/" Blind(name prefix) NUL customer ""
//              "k/" customer NUL search key         "" (the customer's entries,
//                                                   to delete them on erasure)
//   feed       BE64 sequence                        JourneyUpdate
//
// order = BE64(occurred_at in µs, sign bit flipped) + event_id: timeline
// order, so a customer's envelopes and entries scan in the order they fold.
//
// customer (and every other component a NUL ends) is written through
// Component(): bytes 0x00 and 0x01 become 0x01 0x02 and 0x01 0x01, any
// other byte stays. Ids checked at the door (domain::ValidateEnvelope)
// are printable ASCII, so their keys are the raw id, as in every store
// written before; and no id, checked or not, can end its component early
// and reach into another customer's range.
//
// Access: envelopes and timeline are written once and scanned per customer;
// cards are read and rewritten on every batch that touches the customer;
// seen is a point read per event that nearly always misses; search is point
// reads and short prefix scans; the feed is appended in sequence order and
// read from a resume token on; meta is a handful of keys rewritten per batch.
//
// Layout 1 (builds before column families) kept every family in the default
// column family, each key prefixed with its LegacyPrefix(); legacy_layout.h
// converts such a store in place.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "threadline/bus/bus.h"
#include "threadline/common/clock.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::journey::keys {

inline constexpr uint32_t kLayoutVersion = 2;

enum class Family { kMeta, kEnvelopes, kTimeline, kCards, kSeen, kSearch, kFeed };
inline constexpr Family kFamilies[] = {Family::kMeta,  Family::kEnvelopes, Family::kTimeline,
                                       Family::kCards, Family::kSeen,      Family::kSearch,
                                       Family::kFeed};
inline constexpr size_t kFamilyCount = sizeof(kFamilies) / sizeof(kFamilies[0]);

// The column family's name ("default" for kMeta).
std::string_view FamilyName(Family f);
// Layout 1's prefix of the family's keys in the default column family
// (empty for kMeta, whose keys did not change).
std::string_view LegacyPrefix(Family f);

// --- meta ---------------------------------------------------------------------
inline constexpr char kLayoutKey[] = "m/layout";
inline constexpr char kSequenceKey[] = "m/seq";
inline constexpr char kPublishedKey[] = "m/pub";
inline constexpr char kOffsetPrefix[] = "o/";
std::string OffsetKey(const bus::TopicPartition& tp);
std::optional<bus::TopicPartition> ParseOffsetKey(std::string_view key);

// A key component that contains no NUL, escaped as described above; the
// identity for a component without bytes 0x00 and 0x01.
std::string Component(std::string_view raw);

// --- envelopes and timeline ---------------------------------------------------
// A customer's events sort by their order suffix.
std::string Order(const v1::EventEnvelope& e);
// The start of the order suffixes at or after `t`.
std::string OrderFrom(TimePoint t);
// Every envelope and entry key of `customer` starts with this.
std::string CustomerPrefix(std::string_view customer);
// The customer an envelope or timeline key belongs to (as Component()
// wrote it).
std::string_view CustomerOfEventKey(std::string_view key);

// --- cards and seen -----------------------------------------------------------
inline std::string CardKey(std::string_view customer) { return Component(customer); }
inline std::string SeenKey(std::string_view event_id) { return std::string(event_id); }

// --- search -------------------------------------------------------------------
inline constexpr char kPhonePrefix[] = "p/";
inline constexpr char kPhoneSuffixPrefix[] = "r/";
inline constexpr char kEmailPrefix[] = "e/";
inline constexpr char kNamePrefix[] = "n/";
inline constexpr char kSearchListPrefix[] = "k/";
std::string PhoneKey(std::string_view e164);
// A stored number's digits reversed (no '+'), then the customer: a number
// typed without its country code matches by prefix.
std::string ReversedPhoneKey(std::string_view e164, std::string_view customer);
std::string ReversedPhonePrefix(std::string_view national_digits);
std::string EmailKey(std::string_view email);
std::string NameKey(std::string_view lower_name, std::string_view customer);
std::string NamePrefix(std::string_view lower_query);
// Blinded entries: `blinded` is a crypto.h Blind() value ("~" + base64url,
// no NUL). PhoneKey, EmailKey and NameKey take a blinded value as they take
// a clear one; a blinded phone suffix is not reversed.
std::string PhoneSuffixKey(std::string_view blinded, std::string_view customer);
// The start of every entry of one blinded value (a phone suffix in
// kPhoneSuffixPrefix, a name prefix in kNamePrefix).
std::string BlindedBucket(std::string_view family_prefix, std::string_view blinded);
// The list of a customer's own search entries.
std::string SearchListKey(std::string_view customer, std::string_view entry);
std::string SearchListPrefix(std::string_view customer);
// True for the families whose value, not the key, names the customer.
bool IsExactSearchEntry(std::string_view key);
// The customer a search entry points at: after the key's last NUL (as
// Component() wrote it), or the value for exact-match families; for a
// "k/" list entry, the customer it lists.
std::string_view CustomerOfSearchEntry(std::string_view key, std::string_view value);

// --- feed ---------------------------------------------------------------------
std::string FeedKey(uint64_t sequence);
uint64_t FeedSequence(std::string_view key);

// --- tokens and digests -------------------------------------------------------
std::string Hex(std::string_view bytes);
std::optional<std::string> Unhex(std::string_view hex);

}  // namespace threadline::journey::keys
