#pragma once
// The data-class catalogue of event property keys (SECURITY.md §1 row 1, §2.3 "Event properties"). Ingest asks
// it which top-level keys of `properties` (identify/group: `traits`) and `context.traits` are personal; their
// values are then sealed under the customer's data key instead of being stored in plain JSON. Stored in the
// `data_classes` table (migration 13, seeded with defaults) and replaced as a whole by an admin.
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
inline constexpr size_t kMaxCatalogueKeyBytes = 64;

struct DataClassEntry {
  std::string key;         // lower-case; matched case-insensitively against top-level keys
  std::string data_class;  // public | internal | personal | personal-sensitive
};

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
  // The class of a top-level property key; "internal" when it is not listed.
  std::string ClassOf(std::string_view key) const;
  bool IsPersonal(std::string_view key) const;

  // Validates every entry (kInvalidArgument naming "event_properties[i].key" / "event_properties[i].class" and
  // the reason; nothing is changed then), writes them in one transaction (ledgered as privacy.catalogue), then
  // swaps the in-memory snapshot. Events already stored keep the form they were written in.
  Result<void> Replace(std::vector<DataClassEntry> entries, std::string_view actor, Timestamp now);

 private:
  using Snapshot = std::vector<DataClassEntry>;  // sorted by key
  std::shared_ptr<const Snapshot> Current() const;

  storage::Store& store_;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by mu_
};

// Validates entries as Replace does and returns them normalised (lower-case keys, sorted).
Result<std::vector<DataClassEntry>> ValidateCatalogue(std::vector<DataClassEntry> entries);

}  // namespace panorama::privacy
