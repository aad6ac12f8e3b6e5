#include "segments/service/xlsx_table.h"

#include <stdlib.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace panorama::segments {

Result<std::string> XlsxTable(const std::string& sheet_name, const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows) {
  // libxlsxwriter 1.1.4 writes to a file name only (no memory buffer): a private temp file, read back, removed.
  std::string path = (std::filesystem::temp_directory_path() / "panorama-export-XXXXXX").string();
  int fd = mkstemp(path.data());
  if (fd < 0) return Error::Unavailable("cannot create a temporary file for the xlsx export");
  close(fd);
  struct Remove {
    std::string path;
    ~Remove() { std::filesystem::remove(path); }
  } remove{path};

  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;  // rows are streamed; memory does not grow with the export
  options.tmpdir = nullptr;
  lxw_workbook* workbook = workbook_new_opt(path.c_str(), &options);
  if (workbook == nullptr) return Error::Unavailable("cannot start the xlsx export");
  lxw_worksheet* sheet = workbook_add_worksheet(workbook, sheet_name.c_str());
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);
  for (size_t c = 0; c < header.size(); ++c) {
    worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), header[c].c_str(), bold);
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      worksheet_write_string(sheet, static_cast<lxw_row_t>(r + 1), static_cast<lxw_col_t>(c), rows[r][c].c_str(),
                             nullptr);
    }
  }
  if (lxw_error closed = workbook_close(workbook); closed != LXW_NO_ERROR) {
    return Error::Unavailable(std::string("xlsx export failed: ") + lxw_strerror(closed));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return Error::Unavailable("cannot read back the xlsx export");
  return bytes.str();
}

}  // namespace panorama::segments
