#pragma once
// The access/portability bundle (GDPR 15, 20; PIPL 45; SECURITY.md §1 row 27): the same rows as the JSON
// export (DsarService::Export), as a ZIP archive with, per table, `tables/<name>.jsonl` (one JSON object per
// row, columns as in the export) and `tables/<name>.csv` (header + rows, RFC 4180), plus `manifest.json`:
// {"format":"panorama-subject-bundle/1","subject_id","generated_at","files":[{"name","rows","sha256"}]}.
// libarchive stays inside subject_bundle.cc.

#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::privacy {

inline constexpr const char* kSubjectBundleFormat = "panorama-subject-bundle/1";

// One row of a table as a JSON object, exactly as in the JSON export (DsarService::Export).
std::string SubjectRowJson(const storage::SubjectTable& table, size_t row);

// The ZIP bytes; kInternal when the archive library fails.
Result<std::string> BuildSubjectBundle(CustomerId subject, const std::vector<storage::SubjectTable>& tables,
                                       Timestamp generated_at);

}  // namespace panorama::privacy
