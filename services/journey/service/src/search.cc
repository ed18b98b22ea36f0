#include "search.h"

#include <algorithm>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using keys::Family;
using rocks::FromRocks;

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The digits of a phone number typed without a country code, trunk zeros
// dropped ("06 1234 5678" -> "612345678"); empty unless it looks like one.
std::string NationalDigits(std::string_view q) {
  std::string digits;
  for (char c : q) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '/') {
      return "";
    }
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos || digits.size() - first < 6) return "";
  return digits.substr(first);
}

}  // namespace

void IndexCustomer(const JourneyStore& store, rocksdb::WriteBatch& batch,
                   const std::string& customer, const v1::CustomerRegistered& p) {
  for (const auto& phone : p.phone_numbers()) {
    store.Put(batch, Family::kSearch, keys::PhoneKey(phone), customer);
    store.Put(batch, Family::kSearch, keys::ReversedPhoneKey(phone, customer), "");
  }
  for (const auto& email : p.emails()) {
    store.Put(batch, Family::kSearch, keys::EmailKey(email), customer);
  }
  store.Put(batch, Family::kSearch, keys::NameKey(LowerAscii(p.name()), customer), "");
}

absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const JourneyStore& store,
                                                      const v1::FindCustomerRequest& r) {
  int32_t limit = r.limit() == 0 ? 20 : r.limit();
  if (limit < 0 || limit > 100) {
    return absl::InvalidArgumentError("limit: must be between 1 and 100 (default 20)");
  }
  RETURN_IF_ERROR(domain::ValidateText("query", r.query(), domain::kMaxNameLength));
  v1::FindCustomerResponse out;
  std::string q(r.query());
  auto add = [&](std::string_view customer, const char* how) {
    for (const auto& m : out.matches()) {
      if (m.customer_id() == customer) return;
    }
    auto* m = out.add_matches();
    m->set_customer_id(std::string(customer));
    m->set_matched_on(how);
    std::string card;
    v1::CustomerContext c;
    auto found = store.Get(Family::kCards, keys::CardKey(customer), &card, "reading a card");
    if (found.ok() && *found && c.ParseFromString(card)) m->set_name(c.name());
  };
  // Every entry of `prefix`, up to the limit.
  auto scan = [&](const std::string& prefix, const char* how, std::string_view what) {
    auto it = store.NewIterator(Family::kSearch);
    for (it->Seek(prefix);
         it->Valid() && it->key().starts_with(prefix) && out.matches_size() < limit; it->Next()) {
      add(keys::CustomerOfSearchEntry(it->key().ToStringView(), it->value().ToStringView()), how);
    }
    return FromRocks(it->status(), what);
  };
  std::string v;
  if (q.find('@') != std::string::npos) {
    auto found = store.Get(Family::kSearch, keys::EmailKey(LowerAscii(q)), &v, "searching e-mails");
    if (found.ok() && *found) add(v, "email");
    return out;
  }
  if (auto phone = domain::NormalizePhone("query", q); phone.ok()) {
    auto found = store.Get(Family::kSearch, keys::PhoneKey(*phone), &v, "searching phone numbers");
    if (found.ok() && *found) add(v, "phone");
  }
  // A number typed the national way ("06 1234 5678") has no country
  // code: match it by its last digits, whatever the country.
  if (auto national = NationalDigits(q); out.matches().empty() && !national.empty()) {
    RETURN_IF_ERROR(scan(keys::ReversedPhonePrefix(national), "phone", "searching phone numbers"));
  }
  RETURN_IF_ERROR(scan(keys::NamePrefix(LowerAscii(q)), "name", "searching customers"));
  return out;
}

}  // namespace threadline::journey
