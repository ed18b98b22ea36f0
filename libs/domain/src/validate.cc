#include "threadline/domain/validate.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "threadline/common/status.h"
#include "threadline/domain/cat.h"

namespace threadline::domain {
namespace {

// [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z) in Unix seconds. Anything
// outside is a unit mistake (millis for seconds) or a typo, not a date a
// customer service deals with.
constexpr int64_t kMinSeconds = 946'684'800;
constexpr int64_t kMaxSeconds = 4'102'444'800;

// E.164: at most 15 digits including the country code. The shortest real
// subscriber numbers with country code have 8 (small island states); less
// than that is a typo or an extension.
constexpr size_t kMinPhoneDigits = 8;
constexpr size_t kMaxPhoneDigits = 15;
// Generous for punctuation ("+31 (0)6 - 12 34 56 78"), small enough that
// nobody stores a paragraph in a phone field.
constexpr size_t kMaxPhoneInput = 40;
constexpr size_t kMaxEmailLength = 254;  // RFC 5321 path limit
constexpr size_t kMaxEmailLocal = 64;

// Active ISO 4217 codes, sorted for binary search. Left out on purpose: fund
// and accounting units (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW, XDR,
// XSU, XUA), precious metals (XAG, XAU, XPD, XPT), bond-market units (XBA..XBD)
// and the test/no-currency codes (XTS, XXX): none is money a customer pays.
constexpr auto kCurrencies = std::to_array<std::string_view>({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER",
    "ZAR", "ZMW", "ZWG", "ZWL",
});
static_assert(std::is_sorted(kCurrencies.begin(), kCurrencies.end()));

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(Cat(field, ": ", what));
}

// The value as it may appear in an error message: quoted, at most 40 bytes,
// control and non-ASCII bytes replaced, so a message never carries a hostile
// payload into logs or a client's terminal.
std::string Quote(std::string_view value) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (value.size() > kMax) out += "...";
  out += "'";
  return out;
}

// Locale-independent ASCII classes: <cctype> depends on the C locale.
bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsBlank(std::string_view s) { return std::all_of(s.begin(), s.end(), IsSpace); }

std::string Hex4(uint32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (int shift = cp > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) {
    out.push_back(kHex[(cp >> shift) & 0xF]);
  }
  return out;
}

// Decodes one UTF-8 code point at s[i]; returns its length or 0 if invalid.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    min = 0x80;
    *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    min = 0x800;
    *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    min = 0x10000;
    *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min) return 0;                       // overlong
  if (*cp >= 0xD800 && *cp <= 0xDFFF) return 0;  // surrogate
  if (*cp > 0x10FFFF) return 0;
  return len;
}

// Comparable instant of a timestamp already checked by ValidateTimestamp.
std::pair<int64_t, int32_t> Instant(const google::protobuf::Timestamp& ts) {
  return {ts.seconds(), ts.nanos()};
}

bool IsPhoneSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string IndexedField(std::string_view field, int index) { return Cat(field, "[", index, "]"); }

absl::Status ValidateCount(std::string_view field, int count, size_t max) {
  if (count < 0 || static_cast<size_t>(count) > max) {
    return Invalid(field, Cat("has ", count, " entries; at most ", max, " are allowed"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(std::string_view request_id) {
  if (request_id.empty()) {
    return Invalid("request_id",
                   "is required; choose a unique id per request (a UUID) and reuse it on retry");
  }
  if (request_id.size() > kMaxIdLength) {
    return Invalid("request_id", Cat("is ", request_id.size(), " characters; at most ",
                                     kMaxIdLength, " are allowed (a UUID is 36)"));
  }
  for (char c : request_id) {
    if (c <= 0x20 || c >= 0x7f) {
      return Invalid("request_id",
                     Cat(Quote(request_id), " must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateText(std::string_view field, std::string_view value, size_t max_len,
                          bool required) {
  if (value.empty() || IsBlank(value)) {
    if (required) return Invalid(field, "is required and must not be blank");
    if (value.empty()) return absl::OkStatus();
  }
  if (value.size() > max_len) {
    return Invalid(field, Cat("is ", value.size(), " bytes; at most ", max_len, " are allowed"));
  }
  for (size_t i = 0; i < value.size();) {
    uint32_t cp;
    size_t len = DecodeUtf8(value, i, &cp);
    if (len == 0) {
      return Invalid(field, Cat("is not valid UTF-8 (at byte ", i, ")"));
    }
    bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
    if (control && cp != '\n' && cp != '\r' && cp != '\t') {
      return Invalid(field, Cat("contains a control character (U+", Hex4(cp), ") at byte ", i,
                                "; only newline and tab are allowed"));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status ValidateId(std::string_view field, std::string_view value, std::string_view prefix) {
  std::string expected = Cat("expected '", prefix, "_' followed by 32 hex digits");
  if (value.empty()) return Invalid(field, Cat("is required; ", expected));
  bool ok = value.size() == prefix.size() + 33 && value.substr(0, prefix.size()) == prefix &&
            value[prefix.size()] == '_';
  for (size_t i = prefix.size() + 1; ok && i < value.size(); ++i) {
    char c = value[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!ok) {
    return Invalid(field, Cat(Quote(value), " is not a ", prefix, " id; ", expected));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizePhone(std::string_view field, std::string_view value) {
  constexpr std::string_view kExample = "use E.164 such as +31612345678";
  std::string_view s = Trim(value);
  if (s.empty()) return Invalid(field, Cat("is required; ", kExample));
  if (s.size() > kMaxPhoneInput) {
    return Invalid(field, Cat(Quote(value), " is too long for a phone number; ", kExample));
  }
  // The international prefix: "+" everywhere, "00" in most of the world.
  bool international = false;
  if (s.front() == '+') {
    international = true;
    s.remove_prefix(1);
  } else if (s.size() >= 2 && s[0] == '0' && s[1] == '0') {
    international = true;
    s.remove_prefix(2);
  }
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    // "(0)": the trunk prefix people write after the country code
    // ("+31 (0)6 ..."); it is never dialled internationally. Before any digit
    // it is just a national 0 and falls through to the checks below.
    if (c == '(' && s.substr(i, 3) == "(0)" && !digits.empty()) {
      i += 2;
      continue;
    }
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (IsPhoneSeparator(c)) {
      continue;
    } else if (IsAlpha(c)) {
      return Invalid(field, Cat(Quote(value),
                                " contains letters; write the number in digits "
                                "(no extensions or vanity letters); ",
                                kExample));
    } else {
      return Invalid(field, Cat(Quote(value), " is not a phone number: unexpected ",
                                Quote(std::string_view(&s[i], 1)), "; ", kExample));
    }
  }
  if (!international) {
    return Invalid(field, Cat(Quote(value),
                              " has no country code; add it with + (for example +31 6 1234 "
                              "5678 instead of 06 1234 5678)"));
  }
  if (digits.empty() || digits[0] == '0') {
    return Invalid(
        field, Cat(Quote(value), " does not start with a country code after the +; ", kExample));
  }
  if (digits.size() < kMinPhoneDigits || digits.size() > kMaxPhoneDigits) {
    return Invalid(field, Cat(Quote(value), " has ", digits.size(), " digits; an E.164 number has ",
                              kMinPhoneDigits, " to ", kMaxPhoneDigits,
                              " digits including the country code; ", kExample));
  }
  return Cat("+", digits);
}

absl::StatusOr<std::string> NormalizeEmail(std::string_view field, std::string_view value) {
  constexpr std::string_view kExample = "expected an address such as name@example.org";
  std::string_view s = Trim(value);
  if (s.empty()) return Invalid(field, Cat("is required; ", kExample));
  auto bad = [&](std::string_view why) {
    return Invalid(field, Cat(Quote(value), " is not an e-mail address (", why, "); ", kExample));
  };
  if (s.size() > kMaxEmailLength) return bad("too long");
  size_t at = s.find('@');
  if (at == std::string_view::npos) return bad("no @");
  if (s.find('@', at + 1) != std::string_view::npos) return bad("more than one @");
  std::string_view local = s.substr(0, at);
  std::string_view domain = s.substr(at + 1);
  if (local.empty()) return bad("nothing before the @");
  if (local.size() > kMaxEmailLocal) return bad("the part before the @ is too long");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return bad("misplaced dot before the @");
  }
  constexpr std::string_view kLocalSpecials = "!#$%&'*+/=?^_`{|}~-.";
  for (char c : local) {
    if (!IsAlnum(c) && kLocalSpecials.find(c) == std::string_view::npos) {
      return bad("unexpected character before the @");
    }
  }
  if (domain.empty()) return bad("nothing after the @");
  size_t last_dot = domain.rfind('.');
  if (last_dot == std::string_view::npos) return bad("the domain has no dot");
  size_t label_start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(label_start, i - label_start);
      if (label.empty()) return bad("empty part in the domain");
      if (label.size() > 63) return bad("a domain part is too long");
      if (label.front() == '-' || label.back() == '-')
        return bad("a domain part starts or ends with -");
      label_start = i + 1;
      continue;
    }
    char c = domain[i];
    if (!IsAlnum(c) && c != '-') {
      return bad("unexpected character in the domain");
    }
  }
  std::string_view tld = domain.substr(last_dot + 1);
  if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), IsAlpha)) {
    return bad("the domain must end in a top-level domain such as .org");
  }
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ToLower);
  return out;
}

bool IsKnownCurrency(std::string_view code) {
  return std::binary_search(kCurrencies.begin(), kCurrencies.end(), code);
}

absl::Status ValidateMoney(std::string_view field, const v1::Money& money, bool allow_zero) {
  const std::string& code = money.currency();
  if (code.empty()) {
    return Invalid(Cat(field, ".currency"), "is required; use an ISO 4217 code such as EUR");
  }
  if (!IsKnownCurrency(code)) {
    std::string upper = code;
    std::transform(upper.begin(), upper.end(), upper.begin(), ToUpper);
    if (upper != code && IsKnownCurrency(upper)) {
      return Invalid(Cat(field, ".currency"), Cat(Quote(code), " must be upper-case: ", upper));
    }
    return Invalid(Cat(field, ".currency"),
                   Cat(Quote(code),
                       " is not an ISO 4217 currency code; use three upper-case letters "
                       "such as EUR, USD or GBP"));
  }
  if (money.amount_minor() < 0) {
    return Invalid(Cat(field, ".amount_minor"),
                   Cat("is ", money.amount_minor(),
                       "; amounts are never negative (the command says which way the "
                       "money goes)"));
  }
  if (!allow_zero && money.amount_minor() == 0) {
    return Invalid(Cat(field, ".amount_minor"),
                   "must be greater than 0 (minor units: 1250 is 12.50)");
  }
  if (money.amount_minor() > kMaxAmountMinor) {
    return Invalid(Cat(field, ".amount_minor"), Cat("is ", money.amount_minor(), "; at most ",
                                                    kMaxAmountMinor, " minor units are accepted"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnum(std::string_view field, int value, bool (*is_valid)(int)) {
  if (value == 0) return Invalid(field, "is required; set one of the defined values");
  if (!is_valid(value)) {
    return Invalid(field, Cat(value, " is not a known value; set one of the defined values"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnum(std::string_view field, int value,
                          const google::protobuf::EnumDescriptor* descriptor) {
  if (value != 0 && descriptor->FindValueByNumber(value) != nullptr) return absl::OkStatus();
  std::vector<std::string> names;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() != 0) names.push_back(descriptor->value(i)->name());
  }
  std::string expected = "expected one of ";
  for (size_t i = 0; i < names.size(); ++i) expected += (i == 0 ? "" : ", ") + names[i];
  if (value == 0) return Invalid(field, Cat("is required; ", expected));
  return Invalid(field, Cat(value, " is not a known value; ", expected));
}

absl::Status ValidateChannel(std::string_view field, v1::Channel channel) {
  return ValidateEnumValue(field, channel);
}

absl::Status ValidateDepartment(std::string_view field, v1::Department department) {
  return ValidateEnumValue(field, department);
}

absl::Status ValidateTimestamp(std::string_view field, const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) {
    return Invalid(field, "is required (a timestamp between 2000 and 2100)");
  }
  if (ts.nanos() < 0 || ts.nanos() >= 1'000'000'000) {
    return Invalid(field, Cat("has nanos ", ts.nanos(), "; expected 0 to 999999999"));
  }
  if (ts.seconds() < kMinSeconds || ts.seconds() >= kMaxSeconds) {
    return Invalid(field, Cat("is ", ts.seconds(),
                              " seconds since 1970; expected a time between "
                              "2000-01-01 and 2100-01-01 (seconds, not milliseconds)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWindow(std::string_view field, const v1::TimeWindow& window) {
  if (!window.has_start() || !window.has_end()) {
    return Invalid(field, "needs both start and end");
  }
  RETURN_IF_ERROR(ValidateTimestamp(Cat(field, ".start"), window.start()));
  RETURN_IF_ERROR(ValidateTimestamp(Cat(field, ".end"), window.end()));
  if (Instant(window.end()) <= Instant(window.start())) {
    return Invalid(field, "start must be before end");
  }
  return absl::OkStatus();
}

std::string WithoutQuotedValues(std::string_view message) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    size_t open = message.find('\'', i);
    size_t close = open == std::string_view::npos ? open : message.find('\'', open + 1);
    if (close == std::string_view::npos) {
      out.append(message.substr(i));
      break;
    }
    out.append(message.substr(i, open - i));
    out += "'…'";
    i = close + 1;
  }
  return out;
}

}  // namespace threadline::domain
