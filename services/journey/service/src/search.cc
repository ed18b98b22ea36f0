#include "search.h"

#include <algorithm>
#include <optional>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"
#include "threadline/privacy/crypto.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using keys::Family;
using rocks::FromRocks;

// The blinded indexes, each its own kind so one value blinds differently
// in each (and differently from the departments' claims).
constexpr std::string_view kPhoneKind = "journey.phone";
constexpr std::string_view kPhoneSuffixKind = "journey.phone_suffix";
constexpr std::string_view kEmailKind = "journey.email";
constexpr std::string_view kNameKind = "journey.name";
// The fewest digits a number typed the national way is matched by.
constexpr size_t kMinPhoneSuffix = 6;

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
  if (first == std::string::npos || digits.size() - first < kMinPhoneSuffix) return "";
  return digits.substr(first);
}

std::string Normalised(const std::string& phone) {
  auto n = domain::NormalizePhone("phone", phone);
  return n.ok() ? *n : phone;
}

// The entries a build before sealing wrote for `p`, in the clear.
std::vector<std::string> ClearEntries(const std::string& customer,
                                      const v1::CustomerRegistered& p) {
  std::vector<std::string> out;
  for (const auto& phone : p.phone_numbers()) {
    out.push_back(keys::PhoneKey(phone));
    out.push_back(keys::ReversedPhoneKey(phone, customer));
  }
  for (const auto& email : p.emails()) out.push_back(keys::EmailKey(email));
  out.push_back(keys::NameKey(LowerAscii(p.name()), customer));
  return out;
}

// The blinded entries of `p`.
std::vector<std::string> BlindedEntries(const privacy::Key& k, const std::string& customer,
                                        const v1::CustomerRegistered& p) {
  std::vector<std::string> out;
  for (const auto& raw : p.phone_numbers()) {
    if (raw.empty()) continue;
    std::string phone = Normalised(raw);
    out.push_back(keys::PhoneKey(privacy::Blind(k, kPhoneKind, phone)));
    std::string_view digits = phone;
    while (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    for (size_t n = kMinPhoneSuffix; n <= digits.size(); ++n) {
      std::string_view suffix = digits.substr(digits.size() - n);
      if (suffix.front() == '0') continue;  // never a national number's first digit
      out.push_back(keys::PhoneSuffixKey(privacy::Blind(k, kPhoneSuffixKind, suffix), customer));
    }
  }
  for (const auto& email : p.emails()) {
    if (email.empty()) continue;
    out.push_back(keys::EmailKey(privacy::Blind(k, kEmailKind, LowerAscii(email))));
  }
  std::string name = LowerAscii(p.name());
  for (size_t n = 1; n <= std::min(name.size(), kMaxIndexedNamePrefix); ++n) {
    out.push_back(keys::NameKey(privacy::Blind(k, kNameKind, name.substr(0, n)), customer));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> IndexCustomer(const JourneyStore& store,
                                                       rocksdb::WriteBatch& batch,
                                                       const std::string& customer,
                                                       const v1::CustomerRegistered& p,
                                                       Personal& personal) {
  if (!personal.sealing()) {
    std::vector<std::string> entries = ClearEntries(customer, p);
    for (const auto& key : entries) {
      store.Put(batch, Family::kSearch, key, keys::IsExactSearchEntry(key) ? customer : "");
    }
    return entries;
  }
  ASSIGN_OR_RETURN(privacy::Key k, personal.IndexKey());
  std::vector<std::string> entries = BlindedEntries(k, customer, p);
  for (const auto& key : entries) {
    store.Put(batch, Family::kSearch, key, keys::IsExactSearchEntry(key) ? customer : "");
    store.Put(batch, Family::kSearch, keys::SearchListKey(customer, key), "");
  }
  return entries;
}

absl::Status UnindexCustomer(const JourneyStore& store, rocksdb::WriteBatch& batch,
                             const std::string& customer, const std::vector<std::string>& staged,
                             const std::vector<v1::CustomerRegistered>& clear) {
  // An exact entry is the last registration's: leave one another customer
  // took over.
  auto drop = [&](const std::string& key) -> absl::Status {
    if (keys::IsExactSearchEntry(key)) {
      std::string holder;
      ASSIGN_OR_RETURN(bool found,
                       store.Get(Family::kSearch, key, &holder, "reading a search entry"));
      if (found && holder != customer) return absl::OkStatus();
    }
    store.Delete(batch, Family::kSearch, key);
    return absl::OkStatus();
  };
  const std::string prefix = keys::SearchListPrefix(customer);
  auto it = store.NewIterator(Family::kSearch);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    RETURN_IF_ERROR(drop(it->key().ToString().substr(prefix.size())));
    store.Delete(batch, Family::kSearch, it->key().ToStringView());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading a customer's search entries"));
  for (const auto& key : staged) {
    store.Delete(batch, Family::kSearch, key);
    store.Delete(batch, Family::kSearch, keys::SearchListKey(customer, key));
  }
  for (const auto& p : clear) {
    for (const auto& key : ClearEntries(customer, p)) RETURN_IF_ERROR(drop(key));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const JourneyStore& store,
                                                      const v1::FindCustomerRequest& r,
                                                      Personal& personal) {
  int32_t limit = r.limit() == 0 ? 20 : r.limit();
  if (limit < 0 || limit > 100) {
    return absl::InvalidArgumentError("limit: must be between 1 and 100 (default 20)");
  }
  RETURN_IF_ERROR(domain::ValidateText("query", r.query(), domain::kMaxNameLength));
  v1::FindCustomerResponse out;
  std::string q(r.query());
  std::optional<privacy::Key> index_key;
  if (personal.sealing()) {
    ASSIGN_OR_RETURN(index_key, personal.IndexKey());
  }
  // A name query longer than the indexed prefixes: the card's name must
  // start with it.
  std::optional<std::string> name_starts;
  auto add = [&](std::string_view customer, const char* how) -> absl::Status {
    for (const auto& m : out.matches()) {
      if (m.customer_id() == customer) return absl::OkStatus();
    }
    std::string bytes;
    v1::CustomerContext card;
    auto found = store.Get(Family::kCards, keys::CardKey(customer), &bytes, "reading a card");
    bool have_card = found.ok() && *found && card.ParseFromString(bytes);
    if (personal.sealing()) {
      ASSIGN_OR_RETURN(bool erased, personal.Erased(std::string(customer)));
      if (erased) return absl::OkStatus();
      have_card = have_card && personal.OpenCard(std::string(customer), card).ok();
    }
    if (name_starts && !(have_card && LowerAscii(card.name()).starts_with(*name_starts))) {
      return absl::OkStatus();
    }
    auto* m = out.add_matches();
    m->set_customer_id(std::string(customer));
    m->set_matched_on(how);
    if (have_card) m->set_name(card.name());
    return absl::OkStatus();
  };
  auto get = [&](const std::string& key, const char* how, std::string_view what) -> absl::Status {
    std::string v;
    auto found = store.Get(Family::kSearch, key, &v, what);
    if (found.ok() && *found) return add(v, how);
    return absl::OkStatus();
  };
  // Every entry of `prefix`, up to the limit.
  auto scan = [&](const std::string& prefix, const char* how,
                  std::string_view what) -> absl::Status {
    auto it = store.NewIterator(Family::kSearch);
    for (it->Seek(prefix);
         it->Valid() && it->key().starts_with(prefix) && out.matches_size() < limit; it->Next()) {
      RETURN_IF_ERROR(add(
          keys::CustomerOfSearchEntry(it->key().ToStringView(), it->value().ToStringView()), how));
    }
    return FromRocks(it->status(), what);
  };
  // Entries in the clear are those of builds before sealing; with sealing
  // they are looked up after the blinded ones.
  if (q.find('@') != std::string::npos) {
    std::string email = LowerAscii(q);
    if (index_key) {
      RETURN_IF_ERROR(get(keys::EmailKey(privacy::Blind(*index_key, kEmailKind, email)), "email",
                          "searching e-mails"));
    }
    RETURN_IF_ERROR(get(keys::EmailKey(email), "email", "searching e-mails"));
    return out;
  }
  if (auto phone = domain::NormalizePhone("query", q); phone.ok()) {
    if (index_key) {
      RETURN_IF_ERROR(get(keys::PhoneKey(privacy::Blind(*index_key, kPhoneKind, *phone)), "phone",
                          "searching phone numbers"));
    }
    RETURN_IF_ERROR(get(keys::PhoneKey(*phone), "phone", "searching phone numbers"));
  }
  // A number typed the national way ("06 1234 5678") has no country
  // code: match it by its last digits, whatever the country.
  if (auto national = NationalDigits(q); out.matches().empty() && !national.empty()) {
    if (index_key) {
      RETURN_IF_ERROR(
          scan(keys::BlindedBucket(keys::kPhoneSuffixPrefix,
                                   privacy::Blind(*index_key, kPhoneSuffixKind, national)),
               "phone", "searching phone numbers"));
    }
    RETURN_IF_ERROR(scan(keys::ReversedPhonePrefix(national), "phone", "searching phone numbers"));
  }
  std::string name = LowerAscii(q);
  if (index_key) {
    if (name.size() > kMaxIndexedNamePrefix) name_starts = name;
    RETURN_IF_ERROR(scan(keys::BlindedBucket(keys::kNamePrefix,
                                             privacy::Blind(*index_key, kNameKind,
                                                            name.substr(0, kMaxIndexedNamePrefix))),
                         "name", "searching customers"));
    name_starts.reset();
    // A clear prefix scan for "~..." would run into the blinded entries
    // (crypto.h: every Blind() value starts with '~').
    if (name.starts_with('~')) return out;
  }
  RETURN_IF_ERROR(scan(keys::NamePrefix(name), "name", "searching customers"));
  return out;
}

}  // namespace threadline::journey
