#pragma once

// Input validation shared by every command. Each check returns
// INVALID_ARGUMENT whose message names the field and says what is expected,
// e.g. "phone_numbers[1]: '0612' is not a phone number; use E.164 such as
// +31612345678". Values quoted back in messages are truncated and stripped of
// control characters, so an error never carries a hostile payload further.
//
// All functions are pure and thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "threadline/v1/common.pb.h"

namespace threadline::domain {

// Limits that keep a hostile client from storing megabytes per field.
inline constexpr size_t kMaxIdLength = 64;
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxTextLength = 4000;
inline constexpr size_t kMaxRepeated = 100;
// The largest event a command may record, before sealing (which grows the
// personal fields by about a third). The largest a valid command makes (an
// order of kMaxRepeated items and commitments of kMaxTextLength) is about
// 430 KiB.
inline constexpr size_t kMaxEventBytes = 512 * 1024;
// The largest envelope a consumer takes from a bus (Kafka's default
// message.max.bytes is about the same): room for any sealed kMaxEventBytes.
inline constexpr size_t kMaxEnvelopeBytes = 1024 * 1024;
// The longest policy text a PolicyChanged event carries (the one string of
// an event longer than kMaxTextLength: operator configuration, not a
// client's input). Real policy files are a few KiB; a longer one is
// recorded by its digest alone.
inline constexpr size_t kMaxPolicySourceBytes = 256 * 1024;
// 10^13 minor units (100 billion in a two-decimal currency): far above any
// real customer amount, and small enough that summing kMaxRepeated lines
// many times over can never overflow int64.
inline constexpr int64_t kMaxAmountMinor = 10'000'000'000'000;

// request_id: 1..kMaxIdLength printable ASCII characters, no spaces.
[[nodiscard]] absl::Status ValidateRequestId(std::string_view request_id);
// Text: valid UTF-8, at most max_len bytes, no control characters other than
// newline, carriage return and tab. When required, it must also be non-blank;
// when not required, empty is fine.
[[nodiscard]] absl::Status ValidateText(std::string_view field, std::string_view value,
                                        size_t max_len, bool required = true);
// An id of the form "<prefix>_<32 lower-case hex>" as made by NewId(prefix).
[[nodiscard]] absl::Status ValidateId(std::string_view field, std::string_view value,
                                      std::string_view prefix);
// A phone number: normalises what a person types ("+31 (0)6 1234-5678",
// "0031 6 ...", "+1 (415) 555.0100") to E.164 ("+" and 8..15 digits), or
// INVALID_ARGUMENT naming field. A national number without country code
// ("06 1234 5678") is rejected with a request to add the country code: the
// service cannot guess the country.
[[nodiscard]] absl::StatusOr<std::string> NormalizePhone(std::string_view field,
                                                         std::string_view value);
// Loose e-mail shape (local@domain.tld, ASCII), lower-cased on success.
[[nodiscard]] absl::StatusOr<std::string> NormalizeEmail(std::string_view field,
                                                         std::string_view value);
// 0 <= amount <= kMaxAmountMinor (amount > 0 unless allow_zero) and a known
// ISO 4217 currency code (upper-case three letters from a table of real
// currencies; fund, metal and test codes are not money a customer pays).
[[nodiscard]] absl::Status ValidateMoney(std::string_view field, const v1::Money& money,
                                         bool allow_zero = true);
// True if `code` is an ISO 4217 currency code in the table above.
bool IsKnownCurrency(std::string_view code);
// Not CHANNEL_UNSPECIFIED and a known value.
[[nodiscard]] absl::Status ValidateChannel(std::string_view field, v1::Channel channel);
[[nodiscard]] absl::Status ValidateDepartment(std::string_view field, v1::Department department);
// A generic check for any enum value of a proto enum: known and not 0.
[[nodiscard]] absl::Status ValidateEnum(std::string_view field, int value, bool (*is_valid)(int));
// Same, for a generated enum type; the message lists the accepted names.
[[nodiscard]] absl::Status ValidateEnum(std::string_view field, int value,
                                        const google::protobuf::EnumDescriptor* descriptor);
template <typename E>
[[nodiscard]] absl::Status ValidateEnumValue(std::string_view field, E value) {
  return ValidateEnum(field, static_cast<int>(value), google::protobuf::GetEnumDescriptor<E>());
}
// start < end, both set and within [2000-01-01, 2100-01-01).
[[nodiscard]] absl::Status ValidateWindow(std::string_view field, const v1::TimeWindow& window);
// A timestamp set (not the epoch) and within [2000-01-01, 2100-01-01).
[[nodiscard]] absl::Status ValidateTimestamp(std::string_view field,
                                             const google::protobuf::Timestamp& ts);
// `message` with every value Quote()d into it replaced by '…': what a log
// line may keep of an error a client was told, since the value may be a
// customer's phone number or e-mail.
std::string WithoutQuotedValues(std::string_view message);
// Valid UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);
// "items" and 2 -> "items[2]": names an element of a repeated field.
std::string IndexedField(std::string_view field, int index);
// Rejects more than kMaxRepeated elements in a repeated field.
[[nodiscard]] absl::Status ValidateCount(std::string_view field, int count,
                                         size_t max = kMaxRepeated);

}  // namespace threadline::domain
