#pragma once
// QR codes for MFA enrolment, drawn with libqrencode as SVG (no raster library needed; scales crisply).

#include <string>
#include <string_view>

#include "core/result.h"

namespace panorama::security {

// An SVG image of `text` as a QR code (error correction M, 4-module quiet zone), as a
// data:image/svg+xml;base64 URI an <img> can show. kInvalidArgument when the text is too long to encode.
Result<std::string> QrSvgDataUri(std::string_view text);

}  // namespace panorama::security
