#include "keyspace.h"

#include "threadline/common/coding.h"
#include "threadline/domain/domain.h"

namespace threadline::journey::keys {

using coding::Fixed64Key;
using coding::GetFixed32BE;
using coding::GetFixed64BE;
using coding::PutFixed32BE;
using coding::PutFixed64BE;

std::string_view FamilyName(Family f) {
  switch (f) {
    case Family::kMeta:
      return "default";
    case Family::kEnvelopes:
      return "envelopes";
    case Family::kTimeline:
      return "timeline";
    case Family::kCards:
      return "cards";
    case Family::kSeen:
      return "seen";
    case Family::kSearch:
      return "search";
    case Family::kFeed:
      return "feed";
  }
  return "default";
}

std::string_view LegacyPrefix(Family f) {
  switch (f) {
    case Family::kMeta:
      return "";
    case Family::kEnvelopes:
      return "e/";
    case Family::kTimeline:
      return "t/";
    case Family::kCards:
      return "c/";
    case Family::kSeen:
      return "s/";
    case Family::kSearch:
      return "i/";
    case Family::kFeed:
      return "f/";
  }
  return "";
}

std::string OffsetKey(const bus::TopicPartition& tp) {
  std::string k = kOffsetPrefix + tp.topic;
  k.push_back('\0');
  PutFixed32BE(k, static_cast<uint32_t>(tp.partition));
  return k;
}

std::optional<bus::TopicPartition> ParseOffsetKey(std::string_view key) {
  std::string_view prefix = kOffsetPrefix;
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos || key.size() != nul + 5) return std::nullopt;
  return bus::TopicPartition{std::string(key.substr(0, nul)),
                             static_cast<int32_t>(GetFixed32BE(key.substr(nul + 1)))};
}

// Biased so that unsigned big-endian bytes sort like signed microseconds.
std::string OrderFrom(TimePoint t) {
  std::string s;
  PutFixed64BE(s, static_cast<uint64_t>(ToUnixMicros(t)) ^ (1ULL << 63));
  return s;
}

std::string Order(const v1::EventEnvelope& e) {
  std::string s = OrderFrom(domain::FromProto(e.occurred_at()));
  s.append(e.event_id());
  return s;
}

std::string Component(std::string_view raw) {
  if (raw.find_first_of(std::string_view("\0\1", 2)) == std::string_view::npos) {
    return std::string(raw);
  }
  std::string out;
  for (char c : raw) {
    if (c == '\0' || c == '\1') {
      out.push_back('\1');
      out.push_back(c == '\0' ? '\2' : '\1');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string CustomerPrefix(std::string_view customer) {
  std::string k = Component(customer);
  k.push_back('\0');
  return k;
}

std::string_view CustomerOfEventKey(std::string_view key) { return key.substr(0, key.find('\0')); }

std::string PhoneKey(std::string_view e164) { return kPhonePrefix + std::string(e164); }

std::string ReversedPhonePrefix(std::string_view national_digits) {
  return kPhoneSuffixPrefix + std::string(national_digits.rbegin(), national_digits.rend());
}

std::string ReversedPhoneKey(std::string_view e164, std::string_view customer) {
  size_t first = e164.find_first_not_of('+');
  std::string_view digits = first == std::string_view::npos ? "" : e164.substr(first);
  std::string k = kPhoneSuffixPrefix + std::string(digits.rbegin(), digits.rend());
  k.push_back('\0');
  k.append(Component(customer));
  return k;
}

std::string EmailKey(std::string_view email) { return kEmailPrefix + std::string(email); }

std::string NameKey(std::string_view lower_name, std::string_view customer) {
  std::string k = NamePrefix(lower_name);
  k.push_back('\0');
  k.append(Component(customer));
  return k;
}

std::string NamePrefix(std::string_view lower_query) {
  return kNamePrefix + Component(lower_query);
}

std::string PhoneSuffixKey(std::string_view blinded, std::string_view customer) {
  std::string k = BlindedBucket(kPhoneSuffixPrefix, blinded);
  k.append(Component(customer));
  return k;
}

std::string BlindedBucket(std::string_view family_prefix, std::string_view blinded) {
  std::string k(family_prefix);
  k.append(blinded);
  k.push_back('\0');
  return k;
}

std::string SearchListPrefix(std::string_view customer) {
  std::string k(kSearchListPrefix);
  k.append(Component(customer));
  k.push_back('\0');
  return k;
}

std::string SearchListKey(std::string_view customer, std::string_view entry) {
  return SearchListPrefix(customer) + std::string(entry);
}

bool IsExactSearchEntry(std::string_view key) {
  return key.starts_with(kPhonePrefix) || key.starts_with(kEmailPrefix);
}

std::string_view CustomerOfSearchEntry(std::string_view key, std::string_view value) {
  if (key.starts_with(kSearchListPrefix)) {
    key.remove_prefix(std::string_view(kSearchListPrefix).size());
    return key.substr(0, key.find('\0'));
  }
  size_t nul = key.rfind('\0');
  return nul == std::string_view::npos ? value : key.substr(nul + 1);
}

std::string FeedKey(uint64_t sequence) { return Fixed64Key(sequence); }
uint64_t FeedSequence(std::string_view key) { return GetFixed64BE(key); }

std::string Hex(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace threadline::journey::keys
