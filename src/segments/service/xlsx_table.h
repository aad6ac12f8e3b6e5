#pragma once
// A table as an .xlsx workbook (libxlsxwriter), for segment member exports. Cells are written as text, so
// nothing a customer typed is ever evaluated as a formula.

#include <string>
#include <vector>

#include "core/result.h"

namespace panorama::segments {

// The workbook's bytes: one sheet `sheet_name` with `header` in bold and `rows` below. kUnavailable when the
// temporary file cannot be written (it is created 0600 in the temp directory and removed before returning).
Result<std::string> XlsxTable(const std::string& sheet_name, const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows);

}  // namespace panorama::segments
