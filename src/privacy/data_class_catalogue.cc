#include "privacy/data_class_catalogue.h"

#include <algorithm>

#include "storage/store.h"

namespace panorama::privacy {

namespace {

constexpr std::string_view kClasses[] = {"public", "internal", "personal", "personal-sensitive"};

bool ByKey(const DataClassEntry& a, const DataClassEntry& b) { return a.key < b.key; }

const DataClassEntry* Find(const std::vector<DataClassEntry>& sorted, std::string_view key) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), key,
                             [](const DataClassEntry& e, std::string_view k) { return e.key < k; });
  return it != sorted.end() && it->key == key ? &*it : nullptr;
}

}  // namespace

const std::vector<DataClassEntry>& DefaultEventPropertyClasses() {
  // Keep in step with migration 13's seed rows.
  static const std::vector<DataClassEntry> kDefaults = [] {
    std::vector<DataClassEntry> d;
    for (const char* key : {"email", "phone", "mobile", "name", "first_name", "last_name", "firstname", "lastname",
                            "address", "ip", "birthday", "id_number", "身份证"}) {
      d.push_back({key, "personal"});
    }
    std::sort(d.begin(), d.end(), ByKey);
    return d;
  }();
  return kDefaults;
}

bool IsPersonalClass(std::string_view data_class) {
  return data_class == "personal" || data_class == "personal-sensitive";
}

std::string CatalogueKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

PathClass ClassifyPath(const std::vector<DataClassEntry>& sorted, std::string_view path) {
  std::string lower = CatalogueKey(path);
  // The path itself and each parent ("user.address.city", "user.address", "user").
  for (size_t end = lower.size(); end != std::string::npos && end > 0; end = lower.rfind('.', end - 1)) {
    const DataClassEntry* e = Find(sorted, std::string_view(lower).substr(0, end));
    if (e != nullptr && IsPersonalClass(e->data_class)) return PathClass::kPersonal;
  }
  // Entries below the path sort together right after "path.".
  lower += '.';
  for (auto it = std::lower_bound(sorted.begin(), sorted.end(), lower,
                                  [](const DataClassEntry& e, const std::string& k) { return e.key < k; });
       it != sorted.end() && std::string_view(it->key).starts_with(lower); ++it) {
    if (IsPersonalClass(it->data_class)) return PathClass::kHoldsPersonal;
  }
  return PathClass::kPlain;
}

Result<std::vector<DataClassEntry>> ValidateCatalogue(std::vector<DataClassEntry> entries) {
  if (entries.size() > kMaxCatalogueEntries) {
    return Error::InvalidField("event_properties", "at most " + std::to_string(kMaxCatalogueEntries) + " entries");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string at = "event_properties[" + std::to_string(i) + "]";
    DataClassEntry& e = entries[i];
    if (e.key.empty()) return Error::InvalidField(at + ".key", "must not be empty");
    if (e.key.size() > kMaxCatalogueKeyBytes) {
      return Error::InvalidField(at + ".key", "at most " + std::to_string(kMaxCatalogueKeyBytes) + " bytes");
    }
    for (unsigned char c : e.key) {
      if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
        return Error::InvalidField(at + ".key", "must be a property name or a dotted path of them (no quotes, "
                                                "backslashes or control characters)");
      }
    }
    // Arrays need no marker ("contacts.email" reaches into the array); "contacts[].email" would never match.
    if (e.key.find("[]") != std::string::npos) {
      return Error::InvalidField(at + ".key", "paths go through arrays without a marker: write \"contacts.email\" "
                                              "for the email of every element of contacts, not \"contacts[].email\"");
    }
    // A dotted path names nested object keys ("user.email"); every part must be there.
    size_t depth = 1;
    for (size_t start = 0;; ++depth) {
      size_t dot = e.key.find('.', start);
      if (dot == start || (dot == std::string::npos && start == e.key.size())) {
        return Error::InvalidField(at + ".key", "a dotted path must not have an empty part (\"user.email\", not "
                                                "\".email\", \"user.\" or \"user..email\")");
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (depth > kMaxCataloguePathDepth) {
      return Error::InvalidField(at + ".key", "at most " + std::to_string(kMaxCataloguePathDepth) +
                                                  " keys in a dotted path");
    }
    if (std::find(std::begin(kClasses), std::end(kClasses), e.data_class) == std::end(kClasses)) {
      return Error::InvalidField(at + ".class", "must be public, internal, personal or personal-sensitive");
    }
    e.key = CatalogueKey(e.key);
    for (size_t j = 0; j < i; ++j) {
      if (entries[j].key == e.key) return Error::InvalidField(at + ".key", "listed twice (keys ignore case)");
    }
  }
  std::sort(entries.begin(), entries.end(), ByKey);
  return entries;
}

DataClassCatalogue::DataClassCatalogue(storage::Store& store)
    : store_(store), snapshot_(std::make_shared<const Entries>(DefaultEventPropertyClasses())) {}

Result<void> DataClassCatalogue::Load() {
  ASSIGN_OR_RETURN(auto rows, store_.ListDataClasses());
  Entries next;
  for (auto& r : rows) {
    if (r.scope == kEventPropertyScope) next.push_back({std::move(r.key), std::move(r.data_class)});
  }
  std::sort(next.begin(), next.end(), ByKey);
  std::lock_guard lock(mu_);
  snapshot_ = std::make_shared<const Entries>(std::move(next));
  return Ok();
}

std::shared_ptr<const std::vector<DataClassEntry>> DataClassCatalogue::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

std::vector<DataClassEntry> DataClassCatalogue::EventProperties() const { return *Snapshot(); }

std::string DataClassCatalogue::ClassOf(std::string_view key) const {
  auto snapshot = Snapshot();
  const DataClassEntry* e = Find(*snapshot, CatalogueKey(key));
  return e ? e->data_class : "internal";
}

PathClass DataClassCatalogue::Classify(std::string_view path) const { return ClassifyPath(*Snapshot(), path); }

bool DataClassCatalogue::IsPersonal(std::string_view path) const { return Classify(path) == PathClass::kPersonal; }

Result<void> DataClassCatalogue::Replace(std::vector<DataClassEntry> entries, std::string_view actor,
                                         Timestamp now) {
  ASSIGN_OR_RETURN(auto valid, ValidateCatalogue(std::move(entries)));
  std::vector<storage::DataClassRecord> rows;
  for (const auto& e : valid) {
    rows.push_back({std::string(kEventPropertyScope), e.key, e.data_class, std::string(actor), now});
  }
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) {
    return txn.ReplaceDataClasses(kEventPropertyScope, rows);
  }));
  std::lock_guard lock(mu_);
  snapshot_ = std::make_shared<const Entries>(std::move(valid));
  return Ok();
}

}  // namespace panorama::privacy
