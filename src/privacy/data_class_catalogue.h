#pragma once
// The data-class catalogue of event property keys (SECURITY.md §1 row 1, §2.3 "Event properties"). Ingest asks
// it which keys of `properties` (identify/group: `traits`) and `context.traits` are personal; their values are
// then sealed under the customer's data key instead of being stored in plain JSON. An entry is a top-level key
// ("email") or a dotted path of nested object keys ("user.email"); arrays are transparent, with no marker in the
// path ("contacts.email" classes the email of every object in the `contacts` array). A personal entry classes
// everything below it ("user" personal seals the whole `user` object or array, whatever "user.email" says).
// Stored in the `data_classes` table (migration 13, seeded with defaults) and replaced as a whole by an admin.
//
// Thread-safe: lookups read an immutable snapshot; Replace swaps it after the commit.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::privacy {

inline constexpr std::string_view kEventPropertyScope = "event_property";
inline constexpr size_t kMaxCatalogueEntries = 500;
inline constexpr size_t kMaxCatalogueKeyBytes = 128;
inline constexpr size_t kMaxCataloguePathDepth = 8;  // keys in a dotted path

struct DataClassEntry {
  std::string key;         // lower-case key or dotted path; matched case-insensitively
  std::string data_class;  // public | internal | personal | personal-sensitive
};

// How the catalogue classes a property path (keys joined by dots, any case): personal (the path or one of its
// parents is listed personal), holding personal paths below it (an object or array ingest must look into), or
// neither. Array elements have the path of their array.
enum class PathClass { kPlain, kPersonal, kHoldsPersonal };
// `sorted`: entries as ValidateCatalogue returns them (lower-case, by key).
PathClass ClassifyPath(const std::vector<DataClassEntry>& sorted, std::string_view path);

// The keys the migration seeds (email, phone, mobile, name, address, ip, birthday, id_number, 身份证, …); used
// when no catalogue is wired (tests, tools).
const std::vector<DataClassEntry>& DefaultEventPropertyClasses();

// Whether values of this class are sealed at ingest and shown only to callers who may read personal data.
bool IsPersonalClass(std::string_view data_class);

// ASCII lower-case (keys are compared case-insensitively; UTF-8 bytes above 0x7f are kept).
std::string CatalogueKey(std::string_view key);

class DataClassCatalogue {
 public:
  explicit DataClassCatalogue(storage::Store& store);

  // Reads the stored catalogue (call once at start, before ingest).
  Result<void> Load();

  std::vector<DataClassEntry> EventProperties() const;  // by key
  // The current entries, sorted; immutable, so a caller classifying many paths (one event) locks once.
  std::shared_ptr<const std::vector<DataClassEntry>> Snapshot() const;
  // The class listed for exactly this key or path; "internal" when it is not listed.
  std::string ClassOf(std::string_view key) const;
  PathClass Classify(std::string_view path) const;
  // Whether values at this path are sealed: it or a parent path is personal.
  bool IsPersonal(std::string_view path) const;

  // Validates every entry (kInvalidArgument naming "event_properties[i].key" / "event_properties[i].class" and
  // the reason; nothing is changed then), writes them in one transaction (ledgered as privacy.catalogue), then
  // swaps the in-memory snapshot. Events already stored keep the form they were written in.
  Result<void> Replace(std::vector<DataClassEntry> entries, std::string_view actor, Timestamp now);

 private:
  using Entries = std::vector<DataClassEntry>;  // sorted by key

  storage::Store& store_;
  mutable std::mutex mu_;
  std::shared_ptr<const Entries> snapshot_;  // guarded by mu_
};

// Validates entries as Replace does and returns them normalised (lower-case keys, sorted).
Result<std::vector<DataClassEntry>> ValidateCatalogue(std::vector<DataClassEntry> entries);

}  // namespace panorama::privacy
