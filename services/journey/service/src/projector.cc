#include "threadline/journey/projector.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "threadline/bus/delivered_watermark.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/common/coding.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/validate.h"
#include "threadline/journey/projection.h"
#include "threadline/outbox/relay.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using coding::Fixed64Key;
using coding::GetFixed32BE;
using coding::GetFixed64BE;
using coding::PutFixed32BE;
using coding::PutFixed64BE;

// A dashboard follows one customer, a handful, or all (none listed).
constexpr size_t kMaxSubscribedCustomers = 1000;

using rocks::FromRocks;

// Timeline order is (occurred_at, event_id); the time is biased so that
// unsigned big-endian bytes sort like signed microseconds.
std::string OrderSuffix(const v1::EventEnvelope& e) {
  std::string s;
  int64_t us = ToUnixMicros(domain::FromProto(e.occurred_at()));
  PutFixed64BE(s, static_cast<uint64_t>(us) ^ (1ULL << 63));
  s.append(e.event_id());
  return s;
}
std::string CustomerPrefix(char kind, std::string_view customer) {
  std::string k(1, kind);
  k.push_back('/');
  k.append(customer);
  k.push_back('\0');
  return k;
}
std::string CardKey(std::string_view customer) { return "c/" + std::string(customer); }
std::string OffsetKey(const bus::TopicPartition& tp) {
  std::string k = "o/" + tp.topic;
  k.push_back('\0');
  PutFixed32BE(k, static_cast<uint32_t>(tp.partition));
  return k;
}
std::string FeedKey(uint64_t seq) { return "f/" + Fixed64Key(seq); }

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

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

class RocksProjector final : public Projector {
 public:
  RocksProjector(ProjectorOptions options, bus::Bus* bus, std::unique_ptr<rocksdb::DB> db)
      : options_(std::move(options)), bus_(bus), db_(std::move(db)) {
    clock_ = options_.clock ? options_.clock : &Clock::Real();
    if (options_.instance.empty()) {
      char host[256] = {};
      options_.instance = gethostname(host, sizeof host - 1) == 0 ? host : "journey";
    }
  }

  ~RocksProjector() override {
    Stop();
    db_->Close().PermitUncheckedError();
  }

  absl::Status Init() {
    std::string v;
    if (db_->Get(rocksdb::ReadOptions(), "m/seq", &v).ok() && v.size() == 8) {
      sequence_ = GetFixed64BE(v);
    }
    if (db_->Get(rocksdb::ReadOptions(), "m/pub", &v).ok() && v.size() == 8) {
      published_ = bus::DeliveredWatermark(GetFixed64BE(v));
      saved_published_ = published_.value();
    }
    bus::OffsetConsumerOptions co;
    co.name = "journey";
    co.topics = DepartmentTopics();
    co.batch_size = options_.batch_size;
    co.poll_wait = options_.poll_wait;
    co.failure = "projection";
    co.log = log_;
    auto apply = [this](const std::vector<bus::Message>& batch, const bus::Offsets& next) {
      return Project(batch, next);
    };
    ASSIGN_OR_RETURN(consumer_, bus::OffsetConsumer::Open(
                                    bus_, std::move(co), [this] { return LoadOffsets(); }, apply));
    if (options_.publish) {
      ASSIGN_OR_RETURN(publisher_, bus_->NewPublisher());
    }
    return absl::OkStatus();
  }

  absl::Status Start() override {
    if (options_.publish) RepublishUnconfirmed();
    running_ = true;
    consumer_->Start();
    return absl::OkStatus();
  }

  void Stop() override {
    if (!running_.exchange(false)) return;
    consumer_->Stop();
    if (publisher_) publisher_->Flush(std::chrono::seconds(10)).IgnoreError();
    SavePublished();
    std::lock_guard lock(mu_);
    feed_cv_.notify_all();
  }

  absl::Status CatchUp(const std::function<void(uint64_t, uint64_t)>& progress) override {
    RETURN_IF_ERROR(consumer_->CatchUp(progress));
    if (publisher_) publisher_->Flush(std::chrono::seconds(30)).IgnoreError();
    SavePublished();
    return absl::OkStatus();
  }

  bool CaughtUp() const override { return consumer_->CaughtUp(); }

  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const v1::GetTimelineRequest& r) override {
    RETURN_IF_ERROR(ValidateCustomerId(r.customer_id()));
    int32_t page_size = r.page_size() == 0 ? 50 : r.page_size();
    if (page_size < 0 || page_size > 500) {
      return absl::InvalidArgumentError("page_size: must be between 1 and 500 (default 50)");
    }
    RETURN_IF_ERROR(ValidateTimelineFilters(r));
    ASSIGN_OR_RETURN(bool known, CustomerKnown(r.customer_id()));
    if (!known) return absl::NotFoundError("customer " + r.customer_id() + " has no journey");
    std::string prefix = CustomerPrefix('t', r.customer_id());
    std::string start = prefix;
    if (!r.page_token().empty()) {
      auto token = Unhex(r.page_token());
      if (!token) return absl::InvalidArgumentError("page_token: not a token from this API");
      start = prefix + *token;
      start.push_back('\0');  // strictly after the last entry returned
    } else if (r.has_time_range() && r.time_range().has_start()) {
      PutFixed64BE(start,
                   static_cast<uint64_t>(ToUnixMicros(domain::FromProto(r.time_range().start()))) ^
                       (1ULL << 63));
    }
    std::optional<TimePoint> end;
    if (r.has_time_range() && r.time_range().has_end()) {
      end = domain::FromProto(r.time_range().end());
    }
    std::set<int> departments(r.departments().begin(), r.departments().end());
    std::set<int> channels(r.channels().begin(), r.channels().end());
    v1::GetTimelineResponse out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    std::string last_suffix;
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      v1::TimelineEntry entry;
      if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("timeline entry does not decode");
      }
      if (end && domain::FromProto(entry.occurred_at()) >= *end) break;
      last_suffix = it->key().ToString().substr(prefix.size());
      if (!departments.empty() && !departments.count(entry.department())) continue;
      if (!channels.empty() && !channels.count(entry.channel())) continue;
      *out.add_entries() = std::move(entry);
      if (out.entries_size() == page_size) {
        it->Next();
        if (it->Valid() && it->key().starts_with(prefix)) {
          out.set_next_page_token(Hex(last_suffix));
        }
        break;
      }
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading a timeline"));
    return out;
  }

  absl::StatusOr<v1::CustomerContext> GetCustomerContext(const std::string& customer) override {
    RETURN_IF_ERROR(ValidateCustomerId(customer));
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), CardKey(customer), &v);
    if (s.IsNotFound()) return absl::NotFoundError("customer " + customer + " has no journey");
    RETURN_IF_ERROR(FromRocks(s, "reading a context card"));
    v1::CustomerContext card;
    if (!card.ParseFromString(v)) return absl::DataLossError("context card does not decode");
    RefreshDerived(card, clock_->Now());
    return card;
  }

  absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const v1::FindCustomerRequest& r) override {
    int32_t limit = r.limit() == 0 ? 20 : r.limit();
    if (limit < 0 || limit > 100) {
      return absl::InvalidArgumentError("limit: must be between 1 and 100 (default 20)");
    }
    RETURN_IF_ERROR(domain::ValidateText("query", r.query(), domain::kMaxNameLength));
    v1::FindCustomerResponse out;
    std::string q(r.query());
    auto add = [&](const std::string& customer, const char* how) {
      for (const auto& m : out.matches()) {
        if (m.customer_id() == customer) return;
      }
      auto* m = out.add_matches();
      m->set_customer_id(customer);
      m->set_matched_on(how);
      std::string card;
      v1::CustomerContext c;
      if (db_->Get(rocksdb::ReadOptions(), CardKey(customer), &card).ok() &&
          c.ParseFromString(card)) {
        m->set_name(c.name());
      }
    };
    std::string v;
    if (q.find('@') != std::string::npos) {
      if (db_->Get(rocksdb::ReadOptions(), "i/e/" + LowerAscii(q), &v).ok()) add(v, "email");
      return out;
    }
    if (auto phone = domain::NormalizePhone("query", q); phone.ok()) {
      if (db_->Get(rocksdb::ReadOptions(), "i/p/" + *phone, &v).ok()) add(v, "phone");
    }
    // A number typed the national way ("06 1234 5678") has no country
    // code: match it by its last digits, whatever the country.
    if (auto national = NationalDigits(q); out.matches().empty() && !national.empty()) {
      std::string prefix = "i/r/" + std::string(national.rbegin(), national.rend());
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(prefix);
           it->Valid() && it->key().starts_with(prefix) && out.matches_size() < limit; it->Next()) {
        std::string key = it->key().ToString();
        add(key.substr(key.rfind('\0') + 1), "phone");
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "searching phone numbers"));
    }
    std::string prefix = "i/n/" + LowerAscii(q);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix);
         it->Valid() && it->key().starts_with(prefix) && out.matches_size() < limit; it->Next()) {
      std::string key = it->key().ToString();
      add(key.substr(key.rfind('\0') + 1), "name");
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "searching customers"));
    return out;
  }

  absl::Status Subscribe(const v1::SubscribeJourneyRequest& r,
                         const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                         const std::function<bool()>& cancelled, uint64_t max_lag) override {
    subscribers_.fetch_add(1, std::memory_order_relaxed);
    struct Leave {
      std::atomic<uint64_t>& n;
      ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
    } leave{subscribers_};
    RETURN_IF_ERROR(
        domain::ValidateCount("customer_ids", r.customer_ids_size(), kMaxSubscribedCustomers));
    for (int i = 0; i < r.customer_ids_size(); ++i) {
      RETURN_IF_ERROR(
          domain::ValidateId(domain::IndexedField("customer_ids", i), r.customer_ids(i), "cus"));
    }
    std::set<std::string> customers(r.customer_ids().begin(), r.customer_ids().end());
    uint64_t after;
    if (r.resume_token().empty()) {
      std::lock_guard lock(mu_);
      after = sequence_;
    } else {
      char* endp = nullptr;
      after = std::strtoull(r.resume_token().c_str(), &endp, 10);
      if (endp == nullptr || *endp != '\0') {
        return absl::InvalidArgumentError("resume_token: not a token from this API");
      }
      std::lock_guard lock(mu_);
      if (after > sequence_) {
        return absl::InvalidArgumentError("resume_token: from the future of this projection");
      }
    }
    while (!cancelled()) {
      uint64_t head;
      {
        std::unique_lock lock(mu_);
        feed_cv_.wait_for(lock, std::chrono::milliseconds(200),
                          [&] { return sequence_ > after || !running_; });
        head = sequence_;
        if (!running_ && head <= after) {
          return absl::UnavailableError("the journey projector is shutting down; resume later");
        }
      }
      if (head - after > max_lag) {
        return absl::ResourceExhaustedError("subscriber fell " + std::to_string(head - after) +
                                            " updates behind; resume with the last token received");
      }
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(FeedKey(after + 1)); it->Valid() && it->key().starts_with("f/"); it->Next()) {
        uint64_t seq = GetFixed64BE(it->key().ToStringView().substr(2));
        if (seq > head) break;
        after = seq;
        v1::JourneyUpdate u;
        if (!u.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
          return absl::DataLossError("journey feed entry does not decode");
        }
        if (!customers.empty() && !customers.count(u.entry().customer_id())) continue;
        auto card = GetCustomerContext(u.entry().customer_id());
        if (card.ok()) *u.mutable_context() = std::move(*card);
        if (!on_update(u)) return absl::OkStatus();
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "reading the journey feed"));
    }
    return absl::CancelledError("subscriber went away");
  }

  absl::StatusOr<std::string> Fingerprint(const std::set<std::string>& customers) override {
    rocks::Digest digest;
    auto mix = [&digest](std::string_view s) { digest.Add(s); };
    // The customer a key belongs to: t/ and e/ keys start with it, c/ keys
    // are it, index keys end with it or hold it as their value.
    auto owner = [](std::string_view key, std::string_view value) {
      std::string_view rest = key.substr(2);
      if (key.starts_with("c/")) return rest;
      if (key.starts_with("i/")) {
        auto nul = rest.rfind('\0');
        return nul == std::string_view::npos ? value : rest.substr(nul + 1);
      }
      return rest.substr(0, rest.find('\0'));
    };
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    uint64_t entries = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key = it->key().ToStringView();
      if (key.size() < 2 || !(key.starts_with("t/") || key.starts_with("c/") ||
                              key.starts_with("i/") || key.starts_with("e/"))) {
        continue;
      }
      if (!customers.empty() &&
          !customers.count(std::string(owner(key, it->value().ToStringView())))) {
        continue;
      }
      if (key.starts_with("t/")) {
        v1::TimelineEntry e;
        e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()));
        e.clear_sequence();
        mix(key);
        // refs is a map: only deterministic serialisation gives the live
        // and the rebuilt projection the same bytes.
        mix(domain::DeterministicBytes(e));
        ++entries;
      } else {
        mix(key);
        mix(it->value().ToStringView());
      }
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "fingerprinting"));
    return std::to_string(entries) + ":" + Hex(Fixed64Key(digest.value()));
  }

  ProjectorStats Stats() const override {
    std::lock_guard lock(mu_);
    ProjectorStats s = stats_;
    s.sequence = sequence_;
    s.published_sequence = published_.value();
    s.subscribers = subscribers_.load(std::memory_order_relaxed);
    s.end_to_end = end_to_end_.Snapshot();
    s.next_offsets = consumer_->Positions();
    return s;
  }

 private:
  // Filters of GetTimeline: known, non-zero enum values, and bounds that are
  // real times (either bound alone is fine; both must be in order).
  static absl::Status ValidateTimelineFilters(const v1::GetTimelineRequest& r) {
    RETURN_IF_ERROR(domain::ValidateCount("departments", r.departments_size()));
    for (int i = 0; i < r.departments_size(); ++i) {
      RETURN_IF_ERROR(
          domain::ValidateDepartment(domain::IndexedField("departments", i), r.departments(i)));
    }
    RETURN_IF_ERROR(domain::ValidateCount("channels", r.channels_size()));
    for (int i = 0; i < r.channels_size(); ++i) {
      RETURN_IF_ERROR(domain::ValidateChannel(domain::IndexedField("channels", i), r.channels(i)));
    }
    if (!r.has_time_range()) return absl::OkStatus();
    const auto& range = r.time_range();
    if (range.has_start()) {
      RETURN_IF_ERROR(domain::ValidateTimestamp("time_range.start", range.start()));
    }
    if (range.has_end()) {
      RETURN_IF_ERROR(domain::ValidateTimestamp("time_range.end", range.end()));
    }
    if (range.has_start() && range.has_end()) {
      RETURN_IF_ERROR(domain::ValidateWindow("time_range", range));
    }
    return absl::OkStatus();
  }

  static absl::Status ValidateCustomerId(const std::string& id) {
    return domain::ValidateId("customer_id", id, "cus");
  }

  absl::StatusOr<bool> CustomerKnown(const std::string& customer) {
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), CardKey(customer), &v);
    if (s.IsNotFound()) return false;
    RETURN_IF_ERROR(FromRocks(s, "reading a context card"));
    return true;
  }

  // The offsets stored with the projection ("o/" keys).
  absl::StatusOr<bus::Offsets> LoadOffsets() {
    bus::Offsets offsets;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("o/"); it->Valid() && it->key().starts_with("o/"); it->Next()) {
      std::string_view key = it->key().ToStringView().substr(2);
      size_t nul = key.find('\0');
      if (nul == std::string_view::npos || key.size() != nul + 5 || it->value().size() != 8) {
        return absl::DataLossError("stored offset does not decode");
      }
      bus::TopicPartition tp{std::string(key.substr(0, nul)),
                             static_cast<int32_t>(GetFixed32BE(key.substr(nul + 1)))};
      offsets[tp] = static_cast<int64_t>(GetFixed64BE(it->value().ToStringView()));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the stored offsets"));
    return offsets;
  }

  // Staged state for one batch.
  struct Staged {
    rocksdb::WriteBatch wb;
    std::set<std::string> seen;
    std::map<std::string, v1::CustomerContext> cards;
    std::map<std::string, std::string> last_key;  // customer -> last order suffix
    std::map<std::string, std::map<std::string, std::string>> envelopes;  // staged e/ values
    // Customers with an event that sorts before one already applied: their
    // card is folded again once, at the end of the batch, instead of once
    // per late event. A rebuild reads four topics whose partitions drift
    // apart in time, so most events of a customer arrive "late"; folding per
    // event made replay quadratic in a customer's history.
    std::set<std::string> refold;
    std::vector<v1::JourneyUpdate> updates;
  };

  absl::StatusOr<bool> Seen(Staged& st, const std::string& event_id) {
    if (st.seen.count(event_id)) return true;
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), "s/" + event_id, &v);
    if (s.IsNotFound()) return false;
    RETURN_IF_ERROR(FromRocks(s, "checking an event id"));
    return true;
  }

  absl::StatusOr<v1::CustomerContext*> Card(Staged& st, const std::string& customer) {
    auto it = st.cards.find(customer);
    if (it != st.cards.end()) return &it->second;
    v1::CustomerContext card;
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), CardKey(customer), &v);
    if (s.ok()) {
      if (!card.ParseFromString(v)) return absl::DataLossError("context card does not decode");
    } else if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s, "reading a context card"));
    }
    return &st.cards.emplace(customer, std::move(card)).first->second;
  }

  absl::StatusOr<std::string> LastKey(Staged& st, const std::string& customer) {
    auto it = st.last_key.find(customer);
    if (it != st.last_key.end()) return it->second;
    std::string prefix = CustomerPrefix('e', customer);
    std::unique_ptr<rocksdb::Iterator> iter(db_->NewIterator(rocksdb::ReadOptions()));
    iter->SeekForPrev(prefix + std::string(64, '\xff'));
    RETURN_IF_ERROR(FromRocks(iter->status(), "reading a timeline"));
    std::string last;
    if (iter->Valid() && iter->key().starts_with(prefix)) {
      last = iter->key().ToString().substr(prefix.size());
    }
    st.last_key[customer] = last;
    return last;
  }

  // The card is a fold over the customer's events in timeline order; an
  // event that sorts before the last one applied makes us fold again.
  absl::Status Refold(Staged& st, const std::string& customer, v1::CustomerContext& card) {
    std::map<std::string, std::string> all = st.envelopes[customer];
    std::string prefix = CustomerPrefix('e', customer);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      all.emplace(it->key().ToString().substr(prefix.size()), it->value().ToString());
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "refolding a card"));
    card.Clear();
    for (const auto& [suffix, bytes] : all) {
      v1::EventEnvelope e;
      if (!e.ParseFromString(bytes)) return absl::DataLossError("stored event does not decode");
      ApplyToCard(e, card);
    }
    ++stats_refolds_;
    return absl::OkStatus();
  }

  absl::Status ProjectOne(Staged& st, const v1::EventEnvelope& e) {
    const std::string& customer = e.customer_id();
    std::string suffix = OrderSuffix(e);
    std::string bytes = e.SerializeAsString();
    ASSIGN_OR_RETURN(std::string last, LastKey(st, customer));
    ASSIGN_OR_RETURN(v1::CustomerContext * card, Card(st, customer));
    st.envelopes[customer][suffix] = bytes;
    if (st.refold.count(customer)) {
      // Folded at the end of the batch, this event included.
    } else if (suffix > last) {
      ApplyToCard(e, *card);
      st.last_key[customer] = suffix;
    } else {
      st.refold.insert(customer);
    }
    v1::TimelineEntry entry = ToEntry(e);
    uint64_t seq = sequence_ + st.updates.size() + 1;
    entry.set_sequence(seq);
    st.wb.Put(CustomerPrefix('e', customer) + suffix, bytes).PermitUncheckedError();
    st.wb.Put(CustomerPrefix('t', customer) + suffix, entry.SerializeAsString())
        .PermitUncheckedError();
    v1::JourneyUpdate update;
    update.set_resume_token(std::to_string(seq));
    *update.mutable_entry() = entry;
    st.wb.Put(FeedKey(seq), update.SerializeAsString()).PermitUncheckedError();
    st.updates.push_back(std::move(update));
    if (e.has_customer_registered()) {
      const auto& p = e.customer_registered();
      for (const auto& phone : p.phone_numbers()) {
        st.wb.Put("i/p/" + phone, customer).PermitUncheckedError();
        std::string digits = phone.substr(phone.find_first_not_of('+'));
        std::string reversed = "i/r/" + std::string(digits.rbegin(), digits.rend());
        reversed.push_back('\0');
        reversed.append(customer);
        st.wb.Put(reversed, "").PermitUncheckedError();
      }
      for (const auto& email : p.emails()) {
        st.wb.Put("i/e/" + email, customer).PermitUncheckedError();
      }
      std::string name_key = "i/n/" + LowerAscii(p.name());
      name_key.push_back('\0');
      name_key.append(customer);
      st.wb.Put(name_key, "").PermitUncheckedError();
    }
    return absl::OkStatus();
  }

  // The consumer's ApplyBatchFn: the batch and its offsets in one WriteBatch.
  absl::Status Project(const std::vector<bus::Message>& batch, const bus::Offsets& next_offsets) {
    Staged st;
    uint64_t duplicates = 0, dead = 0;
    std::vector<TimePoint> recorded;  // of events projected, for end-to-end latency
    std::map<std::string, uint64_t> by_type;
    for (const auto& m : batch) {
      v1::EventEnvelope e;
      std::string reason = DecodeEvent(m.value, e);
      if (!reason.empty()) {
        ++dead;
        if (dead_letters_.Allow()) {
          log_.Warn("unreadable event parked",
                    {{"topic", m.topic}, {"offset", m.offset}, {"reason", reason}});
        }
        ParkDeadLetter(m, reason);
        continue;
      }
      ASSIGN_OR_RETURN(bool seen, Seen(st, e.event_id()));
      if (seen) {
        ++duplicates;
        continue;
      }
      st.seen.insert(e.event_id());
      st.wb.Put("s/" + e.event_id(), "").PermitUncheckedError();
      if (e.customer_id().empty()) continue;  // e.g. a missed call from an unknown number
      RETURN_IF_ERROR(ProjectOne(st, e));
      recorded.push_back(domain::FromProto(e.recorded_at()));
      ++by_type[domain::EventType(e)];
    }
    // Parked messages must be on the dead-letter topic before their offsets
    // move past them.
    if (dead > 0 && publisher_) {
      RETURN_IF_ERROR(publisher_->Flush(std::chrono::seconds(30)));
      std::lock_guard lock(mu_);
      if (dead_letter_failed_) {
        dead_letter_failed_ = false;
        return absl::UnavailableError("could not park messages on " +
                                      std::string(kDeadLetterTopic));
      }
    }
    for (const auto& customer : st.refold) {
      RETURN_IF_ERROR(Refold(st, customer, st.cards[customer]));
    }
    for (const auto& [customer, card] : st.cards) {
      st.wb.Put(CardKey(customer), card.SerializeAsString()).PermitUncheckedError();
    }
    for (const auto& [tp, next] : next_offsets) {
      st.wb.Put(OffsetKey(tp), Fixed64Key(static_cast<uint64_t>(next))).PermitUncheckedError();
    }
    uint64_t new_seq = sequence_ + st.updates.size();
    st.wb.Put("m/seq", Fixed64Key(new_seq)).PermitUncheckedError();
    // No fsync: the WAL survives kill -9, and after a machine crash the
    // projection re-reads from the offsets committed with it.
    RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &st.wb), "committing a batch"));
    {
      std::lock_guard lock(mu_);
      sequence_ = new_seq;
      stats_.consumed += batch.size();
      stats_.projected += st.updates.size();
      stats_.duplicates += duplicates;
      stats_.dead_lettered += dead;
      for (const auto& [type, n] : by_type) stats_.projected_by_type[type] += n;
      stats_.refolds = stats_refolds_;
      feed_cv_.notify_all();
    }
    TimePoint now = clock_->Now();
    for (TimePoint t : recorded) end_to_end_.Observe(now - t);
    for (auto& u : st.updates) PublishUpdate(u);
    SavePublished();
    return absl::OkStatus();
  }

  void ParkDeadLetter(const bus::Message& m, const std::string& reason) {
    if (!publisher_) return;
    bus::OutMessage out;
    out.topic = kDeadLetterTopic;
    out.key = m.key;
    out.value = m.value;
    out.headers = m.headers;
    out.headers.push_back({"deadletter_reason", reason});
    out.headers.push_back({"deadletter_source_topic", m.topic});
    out.headers.push_back({"deadletter_source_partition", std::to_string(m.partition)});
    out.headers.push_back({"deadletter_source_offset", std::to_string(m.offset)});
    out.headers.push_back({"deadletter_consumer", "journey"});
    out.headers.push_back({"deadletter_instance", options_.instance});
    absl::Status s =
        publisher_->Publish(std::move(out), [this](const absl::Status& st, int32_t, int64_t) {
          if (!st.ok()) {
            std::lock_guard lock(mu_);
            dead_letter_failed_ = true;
          }
        });
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      dead_letter_failed_ = true;
    }
  }

  void PublishUpdate(const v1::JourneyUpdate& u) {
    if (!publisher_) return;
    bus::OutMessage m;
    m.topic = kJourneyTopic;
    m.key = u.entry().customer_id();
    m.value = u.SerializeAsString();
    m.headers.push_back({outbox::kHeaderEventType, u.entry().kind()});
    m.headers.push_back({outbox::kHeaderEventId, u.entry().event_id()});
    uint64_t seq = u.entry().sequence();
    absl::Status s =
        publisher_->Publish(std::move(m), [this, seq](const absl::Status& st, int32_t, int64_t) {
          std::lock_guard lock(mu_);
          if (!st.ok()) {
            publish_failed_ = true;
            return;
          }
          published_.Delivered(seq);
        });
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      publish_failed_ = true;
    }
  }

  // Entries committed but not confirmed on the journey topic go out again
  // (consumers of the journey topic drop duplicates by event_id).
  void RepublishUnconfirmed() {
    uint64_t from;
    {
      std::lock_guard lock(mu_);
      from = published_.value();
      published_.ForgetAhead();
      publish_failed_ = false;
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(FeedKey(from + 1)); it->Valid() && it->key().starts_with("f/"); it->Next()) {
      v1::JourneyUpdate u;
      if (u.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        PublishUpdate(u);
      }
    }
  }

  void SavePublished() {
    uint64_t p;
    bool failed;
    {
      std::lock_guard lock(mu_);
      p = published_.value();
      failed = publish_failed_;
      if (p == saved_published_ && !failed) return;
    }
    if (p != saved_published_) {
      db_->Put(rocksdb::WriteOptions(), "m/pub", Fixed64Key(p)).PermitUncheckedError();
      saved_published_ = p;
    }
    if (failed && publisher_ && publisher_->Flush(std::chrono::seconds(5)).ok()) {
      RepublishUnconfirmed();
    }
  }

  ProjectorOptions options_;
  bus::Bus* bus_;
  std::unique_ptr<rocksdb::DB> db_;
  const Clock* clock_;
  std::unique_ptr<bus::OffsetConsumer> consumer_;
  std::unique_ptr<bus::Publisher> publisher_;

  mutable std::mutex mu_;
  std::condition_variable feed_cv_;
  uint64_t sequence_ = 0;
  bus::DeliveredWatermark published_;  // every sequence up to it is on kJourneyTopic
  uint64_t saved_published_ = 0;
  bool publish_failed_ = false;
  bool dead_letter_failed_ = false;
  ProjectorStats stats_;
  uint64_t stats_refolds_ = 0;
  std::atomic<uint64_t> subscribers_{0};
  LatencyHistogram end_to_end_;

  std::atomic<bool> running_{false};
  LogEvery dead_letters_{std::chrono::seconds(5)};
  Logger log_{"journey.projector"};
};

}  // namespace

std::vector<std::string> DepartmentTopics() {
  return {"threadline.sales.v1", "threadline.installation.v1", "threadline.support.v1",
          "threadline.billing.v1"};
}

absl::StatusOr<std::unique_ptr<Projector>> Projector::Open(const ProjectorOptions& options,
                                                           bus::Bus* bus) {
  rocksdb::Options o;
  o.create_if_missing = true;
  ASSIGN_OR_RETURN(auto db, rocks::Open(o, options.path, "journey store"));
  auto p = std::make_unique<RocksProjector>(options, bus, std::move(db));
  RETURN_IF_ERROR(p->Init());
  return std::unique_ptr<Projector>(std::move(p));
}

}  // namespace threadline::journey
