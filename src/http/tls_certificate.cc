#include "http/tls_certificate.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace panorama::http {
namespace {

struct FreePkey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FreeX509 {
  void operator()(X509* x) const { X509_free(x); }
};
struct FreeExt {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct CloseFile {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// 0600 from the start (not chmod after writing), never over an existing file.
Result<std::unique_ptr<std::FILE, CloseFile>> CreatePrivate(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  std::unique_ptr<std::FILE, CloseFile> f(::fdopen(fd, "w"));
  if (!f) {
    ::close(fd);
    return Error::Unavailable("cannot open " + path);
  }
  return f;
}

Result<void> AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, FreeExt> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Error::Internal("cannot add certificate extension");
  return Ok();
}

}  // namespace

Result<void> GenerateSelfSignedCertificate(const std::string& cert_file, const std::string& key_file, int days) {
  std::error_code ec;
  if (std::filesystem::exists(cert_file, ec) || std::filesystem::exists(key_file, ec)) {
    return Error::AlreadyExists("tls certificate or key already exists: " + cert_file + ", " + key_file);
  }
  std::unique_ptr<EVP_PKEY, FreePkey> key(EVP_EC_gen("P-256"));
  if (!key) return Error::Internal("cannot generate an ec key");
  std::unique_ptr<X509, FreeX509> cert(X509_new());
  if (!cert) return Error::Internal("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Error::Internal("no randomness for the serial number");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Panorama (local)"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"));
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Error::Internal("cannot sign the certificate");

  {
    ASSIGN_OR_RETURN(auto out, CreatePrivate(key_file));
    if (PEM_write_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return Error::Unavailable("cannot write " + key_file);
    }
  }
  ASSIGN_OR_RETURN(auto out, CreatePrivate(cert_file));
  if (PEM_write_X509(out.get(), cert.get()) != 1) return Error::Unavailable("cannot write " + cert_file);
  return Ok();
}

}  // namespace panorama::http
