#include "threadline/domain/validate.h"

#include <gmock/gmock.h>

#include <string>

#include "threadline/domain/domain.h"
#include "threadline/domain/envelope_check.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/support.pb.h"

namespace threadline::domain {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

MATCHER_P(IsInvalidMentioning, text, "") {
  const absl::Status& s = ::threadline::testing::AsStatus(arg);
  return s.code() == absl::StatusCode::kInvalidArgument &&
         s.message().find(text) != std::string_view::npos;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }
template <typename T>
std::string Message(const absl::StatusOr<T>& s) {
  return std::string(s.status().message());
}

// ---- request ids ----

TEST(ValidateRequestIdTest, AcceptsUuidsAndPrintableAscii) {
  EXPECT_OK(ValidateRequestId("0190f1c2-7a3b-7c00-8000-000000000001"));
  EXPECT_OK(ValidateRequestId("retry-42/a"));
  EXPECT_OK(ValidateRequestId(std::string(kMaxIdLength, 'x')));
}

TEST(ValidateRequestIdTest, RejectsEmptyLongSpacesAndNonAscii) {
  EXPECT_THAT(ValidateRequestId(""), IsInvalidMentioning("request_id: is required"));
  EXPECT_THAT(ValidateRequestId(std::string(kMaxIdLength + 1, 'x')),
              IsInvalidMentioning("at most 64"));
  EXPECT_THAT(ValidateRequestId("a b"), IsInvalidMentioning("printable ASCII"));
  EXPECT_THAT(ValidateRequestId("caf\xc3\xa9"), IsInvalidMentioning("printable ASCII"));
  EXPECT_THAT(ValidateRequestId("a\nb"), IsInvalidMentioning("printable ASCII"));
}

// ---- text ----

TEST(ValidateTextTest, AcceptsUnicodeNewlinesAndTabs) {
  EXPECT_OK(ValidateText("note", "Installateur kommt am Dienstag \xe2\x80\x93 gr\xc3\xbc\xc3\x9f",
                         kMaxTextLength));
  EXPECT_OK(ValidateText("note", "line one\r\nline two\twith tab", kMaxTextLength));
  EXPECT_OK(ValidateText("note", "emoji \xf0\x9f\x93\x9e", kMaxTextLength));
}

TEST(ValidateTextTest, RequiredMeansNonBlank) {
  EXPECT_THAT(ValidateText("subject", "", 10), IsInvalidMentioning("subject: is required"));
  EXPECT_THAT(ValidateText("subject", "  \n\t", 10), IsInvalidMentioning("must not be blank"));
  EXPECT_OK(ValidateText("note", "", 10, /*required=*/false));
}

TEST(ValidateTextTest, RejectsTooLongInBytes) {
  EXPECT_OK(ValidateText("name", std::string(10, 'a'), 10));
  EXPECT_THAT(ValidateText("name", std::string(11, 'a'), 10),
              IsInvalidMentioning("name: is 11 bytes; at most 10"));
  // Length is in bytes: five two-byte characters are 10 bytes.
  EXPECT_THAT(ValidateText("name", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10),
              IsInvalidMentioning("12 bytes"));
}

TEST(ValidateTextTest, RejectsInvalidUtf8) {
  EXPECT_THAT(ValidateText("note", "bad \xff byte", 100), IsInvalidMentioning("not valid UTF-8"));
  EXPECT_THAT(ValidateText("note", "cut \xc3", 100), IsInvalidMentioning("not valid UTF-8"));
}

TEST(ValidateTextTest, RejectsControlCharacters) {
  EXPECT_THAT(ValidateText("note", std::string("nul\0here", 8), 100),
              IsInvalidMentioning("control character (U+0000)"));
  EXPECT_THAT(ValidateText("note", "bell\a", 100), IsInvalidMentioning("U+0007"));
  EXPECT_THAT(ValidateText("note", "esc\x1b[31m", 100), IsInvalidMentioning("U+001B"));
  EXPECT_THAT(ValidateText("note", "del\x7f", 100), IsInvalidMentioning("U+007F"));
  EXPECT_THAT(ValidateText("note", "c1 \xc2\x85", 100), IsInvalidMentioning("U+0085"));
  // Optional text is checked too when present.
  EXPECT_THAT(ValidateText("note", "x\x01", 100, false), IsInvalidMentioning("control"));
}

TEST(IsValidUtf8Test, RejectsOverlongSurrogatesAndOutOfRange) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));           // euro sign
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));       // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));          // U+D800 surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));                  // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // five-byte form
}

// ---- ids ----

TEST(ValidateIdTest, AcceptsPrefixAnd32Hex) {
  EXPECT_OK(ValidateId("customer_id", "cus_0190f1c27a3b7c008000000000000001", "cus"));
}

TEST(ValidateIdTest, RejectsWrongPrefixShapeAndCase) {
  EXPECT_THAT(ValidateId("customer_id", "", "cus"),
              IsInvalidMentioning("customer_id: is required; expected 'cus_'"));
  // An order id pasted where a customer id belongs is caught.
  EXPECT_THAT(ValidateId("customer_id", "ord_0190f1c27a3b7c008000000000000001", "cus"),
              IsInvalidMentioning("is not a cus id"));
  EXPECT_THAT(ValidateId("customer_id", "cus_0190F1C27A3B7C008000000000000001", "cus"),
              IsInvalidMentioning("32 hex digits"));
  EXPECT_THAT(ValidateId("customer_id", "cus_123", "cus"), IsInvalidMentioning("not a cus id"));
  EXPECT_THAT(ValidateId("customer_id", "cus-0190f1c27a3b7c008000000000000001", "cus"),
              IsInvalidMentioning("not a cus id"));
  EXPECT_THAT(ValidateId("customer_id", "cus_0190f1c27a3b7c00800000000000000g", "cus"),
              IsInvalidMentioning("not a cus id"));
}

TEST(ValidateIdTest, MessageDoesNotEchoControlCharactersOrHugeInput) {
  auto s = ValidateId("customer_id", "\x1b[2J" + std::string(1000, 'a'), "cus");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Message(s).find('\x1b'), std::string::npos);
  EXPECT_LT(Message(s).size(), 200u);
}

// ---- phone numbers ----

struct PhoneCase {
  const char* typed;
  const char* e164;
};

class NormalizePhoneAcceptsTest : public ::testing::TestWithParam<PhoneCase> {};

TEST_P(NormalizePhoneAcceptsTest, NormalisesWhatPeopleType) {
  auto phone = NormalizePhone("phone", GetParam().typed);
  ASSERT_OK(phone);
  EXPECT_EQ(*phone, GetParam().e164);
}

INSTANTIATE_TEST_SUITE_P(
    Typed, NormalizePhoneAcceptsTest,
    ::testing::Values(
        PhoneCase{"+31612345678", "+31612345678"}, PhoneCase{"+31 6 1234 5678", "+31612345678"},
        PhoneCase{"+31 (0)6 1234-5678", "+31612345678"},
        PhoneCase{"+31(0)612345678", "+31612345678"}, PhoneCase{"0031 6 12345678", "+31612345678"},
        PhoneCase{"0031 (0)6 12 34 56 78", "+31612345678"},
        PhoneCase{"+1 (415) 555-0100", "+14155550100"},
        PhoneCase{"+1.415.555.0100", "+14155550100"}, PhoneCase{"+49 30/1234567", "+49301234567"},
        PhoneCase{"  +44 20 7946 0958  ", "+442079460958"},
        PhoneCase{"+354 1234 567", "+3541234567"},           // 10 digits
        PhoneCase{"+999 123456789012", "+999123456789012"},  // 15 digits
        PhoneCase{"+290 12345", "+29012345"}));              // 8 digits: the shortest

TEST(NormalizePhoneTest, RejectsNationalNumbersAskingForTheCountryCode) {
  auto phone = NormalizePhone("phone_numbers[1]", "06 1234 5678");
  EXPECT_THAT(phone, IsInvalidMentioning("phone_numbers[1]: '06 1234 5678' has no country code"));
  EXPECT_THAT(Message(phone), HasSubstr("add it with +"));
  EXPECT_THAT(NormalizePhone("phone", "(0)6 1234 5678"), IsInvalidMentioning("no country code"));
  // Digits only without + or 00: we cannot tell a country code from an area code.
  EXPECT_THAT(NormalizePhone("phone", "31612345678"), IsInvalidMentioning("no country code"));
}

TEST(NormalizePhoneTest, RejectsLettersAndOtherCharacters) {
  EXPECT_THAT(NormalizePhone("phone", "+1 800 FLOWERS"), IsInvalidMentioning("contains letters"));
  EXPECT_THAT(NormalizePhone("phone", "+31 6 1234 5678 ext 12"),
              IsInvalidMentioning("contains letters"));
  EXPECT_THAT(NormalizePhone("phone", "+31 6 1234*5678"), IsInvalidMentioning("unexpected '*'"));
  EXPECT_THAT(NormalizePhone("phone", "+31 6 +1234 5678"), IsInvalidMentioning("unexpected '+'"));
  EXPECT_THAT(NormalizePhone("phone",
                             "+31\xc2\xa0"
                             "612345678"),
              IsInvalidMentioning("unexpected"));
}

TEST(NormalizePhoneTest, RejectsTooShortAndTooLong) {
  EXPECT_THAT(NormalizePhone("phone", "+31 612"),
              IsInvalidMentioning("has 5 digits; an E.164 number has 8 to 15 digits"));
  EXPECT_THAT(NormalizePhone("phone", "+31 6 1234 5678 9012 3"),
              IsInvalidMentioning("has 16 digits"));
  EXPECT_THAT(NormalizePhone("phone", "+" + std::string(50, '1')), IsInvalidMentioning("too long"));
}

TEST(NormalizePhoneTest, RejectsEmptyAndMissingCountryCode) {
  EXPECT_THAT(NormalizePhone("caller_number", ""),
              IsInvalidMentioning("caller_number: is required"));
  EXPECT_THAT(NormalizePhone("caller_number", "   "), IsInvalidMentioning("is required"));
  EXPECT_THAT(NormalizePhone("phone", "+"), IsInvalidMentioning("country code"));
  EXPECT_THAT(NormalizePhone("phone", "+0 612345678"), IsInvalidMentioning("country code"));
  EXPECT_THAT(NormalizePhone("phone", "000612345678"), IsInvalidMentioning("country code"));
  EXPECT_THAT(NormalizePhone("phone", "+(0)612345678"), IsInvalidMentioning("country code"));
}

// ---- e-mail ----

TEST(NormalizeEmailTest, LowerCasesAndTrims) {
  auto email = NormalizeEmail("emails[0]", "  Anna.de-Vries+Orders@Example.ORG ");
  ASSERT_OK(email);
  EXPECT_EQ(*email, "anna.de-vries+orders@example.org");
  EXPECT_OK(NormalizeEmail("email", "a@b.co"));
  EXPECT_OK(NormalizeEmail("email", "o'brien@mail.example.co.uk"));
}

TEST(NormalizeEmailTest, RejectsWrongShapes) {
  for (const char* bad :
       {"anna", "anna@", "@example.org", "anna@example", "anna@@example.org", "a@b@example.org",
        "anna@example.o", "anna@example.123", "an na@example.org", ".anna@example.org",
        "anna.@example.org", "an..na@example.org", "anna@-example.org", "anna@example..org",
        "anna@exa_mple.org", "anna@.example.org", "ann\xc3\xa9@example.org"}) {
    auto email = NormalizeEmail("emails[2]", bad);
    EXPECT_THAT(email, AllOf(IsInvalidMentioning("emails[2]: "),
                             IsInvalidMentioning("is not an e-mail address")))
        << bad;
  }
  EXPECT_THAT(NormalizeEmail("email", ""), IsInvalidMentioning("email: is required"));
  EXPECT_THAT(NormalizeEmail("email", std::string(250, 'a') + "@example.org"),
              IsInvalidMentioning("too long"));
  EXPECT_THAT(NormalizeEmail("email", std::string(65, 'a') + "@example.org"),
              IsInvalidMentioning("too long"));
}

// ---- money ----

v1::Money Money(int64_t amount, const char* currency) {
  v1::Money m;
  m.set_amount_minor(amount);
  m.set_currency(currency);
  return m;
}

TEST(ValidateMoneyTest, AcceptsRealCurrencies) {
  EXPECT_OK(ValidateMoney("price", Money(1250, "EUR")));
  EXPECT_OK(ValidateMoney("price", Money(0, "USD")));
  EXPECT_OK(ValidateMoney("price", Money(100, "JPY")));
  EXPECT_OK(ValidateMoney("price", Money(kMaxAmountMinor, "CHF")));
  EXPECT_TRUE(IsKnownCurrency("GBP"));
  EXPECT_TRUE(IsKnownCurrency("AED"));
  EXPECT_TRUE(IsKnownCurrency("ZWL"));
}

TEST(ValidateMoneyTest, RejectsUnknownLowerCaseAndMissingCurrency) {
  EXPECT_THAT(ValidateMoney("items[0].one_off_price", Money(1, "")),
              IsInvalidMentioning("items[0].one_off_price.currency: is required"));
  EXPECT_THAT(ValidateMoney("price", Money(1, "eur")),
              IsInvalidMentioning("price.currency: 'eur' must be upper-case: EUR"));
  EXPECT_THAT(ValidateMoney("price", Money(1, "EURO")), IsInvalidMentioning("not an ISO 4217"));
  EXPECT_THAT(ValidateMoney("price", Money(1, "ABC")), IsInvalidMentioning("not an ISO 4217"));
  // Test and metal codes are not money a customer pays.
  EXPECT_THAT(ValidateMoney("price", Money(1, "XTS")), IsInvalidMentioning("not an ISO 4217"));
  EXPECT_THAT(ValidateMoney("price", Money(1, "XAU")), IsInvalidMentioning("not an ISO 4217"));
}

TEST(ValidateMoneyTest, RejectsNegativeZeroWhenNotAllowedAndHuge) {
  EXPECT_THAT(ValidateMoney("amount", Money(-1, "EUR")),
              IsInvalidMentioning("amount.amount_minor: is -1; amounts are never negative"));
  EXPECT_THAT(ValidateMoney("amount", Money(0, "EUR"), /*allow_zero=*/false),
              IsInvalidMentioning("must be greater than 0"));
  EXPECT_OK(ValidateMoney("amount", Money(1, "EUR"), /*allow_zero=*/false));
  EXPECT_THAT(ValidateMoney("amount", Money(kMaxAmountMinor + 1, "EUR")),
              IsInvalidMentioning("at most"));
}

// ---- enums ----

TEST(ValidateEnumTest, ChannelAndDepartmentMustBeKnownAndSet) {
  EXPECT_OK(ValidateChannel("channel", v1::CHANNEL_PHONE));
  auto s = ValidateChannel("channel", v1::CHANNEL_UNSPECIFIED);
  EXPECT_THAT(s, IsInvalidMentioning("channel: is required; expected one of CHANNEL_PHONE"));
  EXPECT_THAT(Message(s), ::testing::Not(HasSubstr("UNSPECIFIED")));
  EXPECT_THAT(ValidateChannel("channel", static_cast<v1::Channel>(77)),
              IsInvalidMentioning("77 is not a known value"));
  EXPECT_OK(ValidateDepartment("owner", v1::DEPARTMENT_INSTALLATION));
  EXPECT_THAT(ValidateDepartment("commitments[0].owner", v1::DEPARTMENT_UNSPECIFIED),
              IsInvalidMentioning("commitments[0].owner: is required"));
}

TEST(ValidateEnumTest, GenericForms) {
  EXPECT_OK(ValidateEnum("priority", v1::TICKET_PRIORITY_HIGH, v1::TicketPriority_IsValid));
  EXPECT_THAT(ValidateEnum("priority", 0, v1::TicketPriority_IsValid),
              IsInvalidMentioning("priority: is required"));
  EXPECT_THAT(ValidateEnum("priority", 99, v1::TicketPriority_IsValid),
              IsInvalidMentioning("99 is not a known value"));
  EXPECT_OK(ValidateEnumValue("tier", v1::SUPPORT_TIER_L2));
  EXPECT_THAT(ValidateEnumValue("tier", v1::SUPPORT_TIER_UNSPECIFIED),
              IsInvalidMentioning("SUPPORT_TIER_L1, SUPPORT_TIER_L2, SUPPORT_TIER_SUPERVISOR"));
}

// ---- times ----

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

TEST(ValidateTimestampTest, RangeIs2000To2100) {
  EXPECT_OK(ValidateTimestamp("due_by", Ts(1'760'000'000)));
  EXPECT_OK(ValidateTimestamp("due_by", Ts(946'684'800)));  // 2000-01-01
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(946'684'799)), IsInvalidMentioning("between 2000"));
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(4'102'444'800)), IsInvalidMentioning("between 2000"));
  // Milliseconds sent where seconds belong.
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(1'760'000'000'000)), IsInvalidMentioning("not milli"));
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(0)), IsInvalidMentioning("due_by: is required"));
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(1'760'000'000, -1)), IsInvalidMentioning("nanos"));
  EXPECT_THAT(ValidateTimestamp("due_by", Ts(1'760'000'000, 1'000'000'000)),
              IsInvalidMentioning("nanos"));
}

TEST(ValidateWindowTest, NeedsOrderedStartAndEnd) {
  v1::TimeWindow w;
  EXPECT_THAT(ValidateWindow("slot", w), IsInvalidMentioning("slot: needs both start and end"));
  *w.mutable_start() = Ts(1'760'000'000);
  EXPECT_THAT(ValidateWindow("slot", w), IsInvalidMentioning("needs both"));
  *w.mutable_end() = Ts(1'760'003'600);
  EXPECT_OK(ValidateWindow("slot", w));
  *w.mutable_end() = Ts(1'760'000'000);
  EXPECT_THAT(ValidateWindow("slot", w), IsInvalidMentioning("start must be before end"));
  *w.mutable_end() = Ts(1'760'000'000, 1);
  EXPECT_OK(ValidateWindow("slot", w));
  *w.mutable_end() = Ts(5'000'000'000);
  EXPECT_THAT(ValidateWindow("slot", w), IsInvalidMentioning("slot.end: is 5000000000"));
}

// ---- helpers ----

TEST(ValidateCountTest, LimitsRepeatedFields) {
  EXPECT_EQ(IndexedField("items", 3), "items[3]");
  EXPECT_OK(ValidateCount("items", static_cast<int>(kMaxRepeated)));
  EXPECT_THAT(ValidateCount("items", static_cast<int>(kMaxRepeated) + 1),
              IsInvalidMentioning("items: has 101 entries; at most 100"));
}

}  // namespace
}  // namespace threadline::domain

// --- the door check of envelopes from a bus ----------------------------------

namespace threadline::domain {
namespace {

v1::EventEnvelope PlausibleEnvelope() {
  v1::EventEnvelope e;
  e.set_event_id("0190a0b0-c0d0-7e0f-8000-100000000001");
  e.set_customer_id("cus_0190a0b0c0d0e0f00000000000000001");
  e.set_aggregate_type("ticket");
  e.set_aggregate_id("tkt_0190a0b0c0d0e0f00000000000000001");
  e.set_department(v1::DEPARTMENT_SUPPORT);
  e.set_channel(v1::CHANNEL_PHONE);
  e.set_causation_id("req-1");
  e.mutable_occurred_at()->set_seconds(1'767'225'600);
  auto* p = e.mutable_ticket_opened();
  p->set_ticket_id("tkt_0190a0b0c0d0e0f00000000000000001");
  p->set_subject("Geen internet — sinds gisteren");
  return e;
}

TEST(ValidateEnvelopeTest, AcceptsAPlausibleEnvelopeAndUnsetFields) {
  EXPECT_OK(ValidateEnvelope(PlausibleEnvelope()));
  v1::EventEnvelope minimal;
  minimal.set_event_id("e1");
  EXPECT_OK(ValidateEnvelope(minimal));
}

TEST(ValidateEnvelopeTest, RefusesIdsThatCouldReachAnotherKeyAndNamesTheField) {
  auto with = [](auto change) {
    v1::EventEnvelope e = PlausibleEnvelope();
    change(e);
    return ValidateEnvelope(e);
  };
  EXPECT_THAT(with([](auto& e) { e.clear_event_id(); }), IsInvalidMentioning("event_id:"));
  EXPECT_THAT(with([](auto& e) { e.set_customer_id(e.customer_id() + std::string("\0zz", 3)); }),
              IsInvalidMentioning("customer_id:"));
  EXPECT_THAT(with([](auto& e) { e.set_customer_id(std::string(10'240, 'c')); }),
              IsInvalidMentioning("customer_id:"));
  EXPECT_THAT(with([](auto& e) { e.set_event_id("\xc3\x28"); }), IsInvalidMentioning("event_id:"));
  EXPECT_THAT(with([](auto& e) { e.set_aggregate_id("tkt 1"); }),
              IsInvalidMentioning("aggregate_id:"));
  EXPECT_THAT(with([](auto& e) { e.mutable_ticket_opened()->set_ticket_id("tkt\n1"); }),
              IsInvalidMentioning("ticket_opened.ticket_id:"));
  // The hostile value is not quoted back.
  auto s = with([](auto& e) { e.set_customer_id(std::string(10'240, 'c')); });
  EXPECT_LT(s.message().size(), 200u);
}

TEST(ValidateEnvelopeTest, RefusesAnEnvelopeOverTheSizeLimitMadeOfValidFields) {
  // 1,300 commitments of kMaxTextLength: every field is valid, the whole is
  // about 5 MB.
  v1::EventEnvelope e = PlausibleEnvelope();
  auto* order = e.mutable_order_placed();
  order->set_order_id("ord_0190a0b0c0d0e0f00000000000000001");
  for (int i = 0; i < 1300; ++i)
    order->add_commitments()->set_text(std::string(kMaxTextLength, 'x'));
  ASSERT_GT(e.ByteSizeLong(), kMaxEnvelopeBytes);
  EXPECT_THAT(ValidateEnvelope(e), IsInvalidMentioning("an envelope is at most 1048576"));
  EXPECT_THAT(CheckEnvelopeSize(e.ByteSizeLong()), IsInvalidMentioning("bytes; an envelope"));
  EXPECT_OK(CheckEnvelopeSize(kMaxEnvelopeBytes));
  EXPECT_FALSE(CheckEnvelopeSize(kMaxEnvelopeBytes + 1).ok());
  // Room for the largest event a command may record, sealed.
  EXPECT_GE(kMaxEnvelopeBytes, kMaxEventBytes * 3 / 2);
}

TEST(ValidateEnvelopeTest, RefusesBadTextEnumsAndTimesAtAnyDepth) {
  auto with = [](auto change) {
    v1::EventEnvelope e = PlausibleEnvelope();
    change(e);
    return ValidateEnvelope(e);
  };
  EXPECT_THAT(with([](auto& e) { e.mutable_ticket_opened()->set_subject("\xff"); }),
              IsInvalidMentioning("ticket_opened.subject:"));
  EXPECT_THAT(with([](auto& e) { e.mutable_ticket_opened()->set_subject(std::string(5000, 'x')); }),
              IsInvalidMentioning("ticket_opened.subject:"));
  EXPECT_THAT(with([](auto& e) { e.set_aggregate_type(std::string("tic\0ket", 7)); }),
              IsInvalidMentioning("aggregate_type:"));
  EXPECT_THAT(with([](auto& e) { e.set_channel(static_cast<v1::Channel>(999)); }),
              IsInvalidMentioning("channel:"));
  EXPECT_THAT(with([](auto& e) { e.mutable_occurred_at()->set_seconds(253'402'300'799); }),
              IsInvalidMentioning("occurred_at:"));
  EXPECT_THAT(with([](auto& e) { e.mutable_ticket_opened()->mutable_sla_due_at()->set_nanos(-1); }),
              IsInvalidMentioning("ticket_opened.sla_due_at:"));
}

// The operator's policy text is longer than any client's text may be, and
// still bounded; every other field of a PolicyChanged is text as usual.
TEST(ValidateEnvelopeTest, APolicyTextMayBeLongerThanOtherTextButIsBounded) {
  v1::EventEnvelope e;
  e.set_event_id("0190a0b0-c0d0-7e0f-8000-100000000002");
  e.set_aggregate_type("policy");
  e.set_aggregate_id("support");
  auto* p = e.mutable_policy_changed();
  p->set_digest(std::string(64, 'a'));
  p->set_source(std::string(kMaxPolicySourceBytes, 'y'));
  EXPECT_OK(ValidateEnvelope(e));
  p->set_source(std::string(kMaxPolicySourceBytes + 1, 'y'));
  EXPECT_THAT(ValidateEnvelope(e), IsInvalidMentioning("policy_changed.source: is 262145 bytes"));
  p->set_source("sla: {}\n");
  p->set_file(std::string(kMaxTextLength + 1, 'f'));
  EXPECT_THAT(ValidateEnvelope(e), IsInvalidMentioning("policy_changed.file:"));
  EXPECT_EQ(DepartmentOf(e), v1::DEPARTMENT_UNSPECIFIED);
}

TEST(ValidateTest, LogLinesKeepNoQuotedValue) {
  auto phone = NormalizePhone("phone_numbers[0]", "+44 20 7946 09x8");
  ASSERT_FALSE(phone.ok());
  const std::string logged = WithoutQuotedValues(std::string(phone.status().message()));
  EXPECT_EQ(logged.find("7946"), std::string::npos) << logged;
  EXPECT_NE(logged.find("phone_numbers[0]"), std::string::npos) << logged;
  EXPECT_EQ(WithoutQuotedValues("a 'b' c 'd"), "a '…' c 'd");
  EXPECT_EQ(WithoutQuotedValues("nothing quoted"), "nothing quoted");
}

}  // namespace
}  // namespace threadline::domain
