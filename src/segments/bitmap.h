#pragma once
// CRoaring's C++ class, for the segments code and its users only (keep it out of widely included headers).
// Debian 12's CRoaring 0.2.66 declares the class at global scope (`::Roaring`); newer releases put it in
// namespace roaring. Code names it segments::Bitmap so the upgrade is this one line.

#include <roaring/roaring.hh>  // IWYU pragma: export

namespace panorama::segments {
using Bitmap = ::Roaring;
}  // namespace panorama::segments
