#pragma once
// A self-signed certificate for local HTTPS (`panorama serve --tls-self-signed`). Not for production: browsers
// warn about it, and clients must pin it or skip verification.

#include <string>

#include "core/result.h"

namespace panorama::http {

// Writes a new P-256 EC private key (`key_file`) and a self-signed X.509 v3 certificate (`cert_file`) for
// localhost / 127.0.0.1 / ::1, valid `days` from now, both PEM and mode 0600. kAlreadyExists when either
// file exists; kUnavailable when a file cannot be written; kInternal when OpenSSL fails.
Result<void> GenerateSelfSignedCertificate(const std::string& cert_file, const std::string& key_file, int days = 365);

}  // namespace panorama::http
