// HTTPS on the real server (S10 in part): a real OpenSSL client negotiates TLS 1.3 and 1.2 with AEAD suites,
// and is refused TLS 1.0/1.1 and CBC suites even when it offers nothing else; HSTS on TLS responses; the
// self-signed certificate path; plain HTTP refused off loopback.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "app/runtime.h"
#include "http/router.h"
#include "http/server.h"
#include "http/tls_certificate.h"
#include "tests/support/http_client.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

struct TlsOutcome {
  bool handshake = false;
  bool renegotiated = false;  // only tried when asked
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string response;  // raw HTTP response to one GET, when the handshake succeeded
};

// One connection with OpenSSL as the client. The client offers exactly [min, max] and `ciphers` (TLS 1.2
// list; empty: OpenSSL's defaults) at security level 0, so a refusal is the server's, not the client's.
TlsOutcome Connect(uint16_t port, int min_version, int max_version, const std::string& ciphers = "",
                   bool try_renegotiation = false) {
  TlsOutcome out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  if (!ciphers.empty()) {
    EXPECT_EQ(SSL_CTX_set_cipher_list(ctx, ciphers.c_str()), 1) << ciphers;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) == 1) {
    out.handshake = true;
    out.version = SSL_get_version(ssl);
    out.cipher = SSL_get_cipher_name(ssl);
    if (try_renegotiation) {
      // The client asks for a new handshake and must see it refused: the request is answered with an alert
      // or ignored, and the connection is no longer usable for a renegotiated session.
      out.renegotiated = SSL_renegotiate(ssl) == 1 && SSL_do_handshake(ssl) == 1 && SSL_renegotiate_pending(ssl) == 0;
    }
    std::string request = "GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char buffer[4096];
    int n;
    while ((n = SSL_read(ssl, buffer, sizeof buffer)) > 0) out.response.append(buffer, static_cast<size_t>(n));
  }
  ERR_clear_error();
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(ctx);
  return out;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = dir_.File("cert.pem");
    key_ = dir_.File("key.pem");
    ASSERT_OK(http::GenerateSelfSignedCertificate(cert_, key_));
    router_.Add(http::Method::kGet, "/api/v1/ping", http::Public([](http::Request&) { return http::Response::Json(200, "{}"); }));
    http::ServerOptions options;
    options.worker_threads = 2;
    options.access_log = false;
    options.tls_cert_file = cert_;
    options.tls_key_file = key_;
    auto server = http::Server::Start(options, router_);
    ASSERT_OK(server);
    server_ = std::move(server).value();
  }

  testing::TempDir dir_;
  std::string cert_, key_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(TlsServerTest, Tls13WorksAndAnswersWithHsts) {
  TlsOutcome out = Connect(server_->port(), TLS1_3_VERSION, TLS1_3_VERSION);

  ASSERT_TRUE(out.handshake);
  EXPECT_EQ(out.version, "TLSv1.3");
  EXPECT_NE(out.response.find("HTTP/1.1 200"), std::string::npos) << out.response;
  EXPECT_NE(out.response.find("Strict-Transport-Security: max-age=63072000; includeSubDomains"), std::string::npos);
  EXPECT_NE(out.response.find("Cache-Control: no-store"), std::string::npos);
}

TEST_F(TlsServerTest, Tls12WithAnAeadSuiteWorks) {
  TlsOutcome out = Connect(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256");

  ASSERT_TRUE(out.handshake);
  EXPECT_EQ(out.version, "TLSv1.2");
  EXPECT_EQ(out.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_F(TlsServerTest, ClientRenegotiationIsRefused) {
  TlsOutcome out = Connect(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", true);

  ASSERT_TRUE(out.handshake);
  EXPECT_FALSE(out.renegotiated);
}

TEST_F(TlsServerTest, Tls11AndTls10AreRefused) {
  EXPECT_FALSE(Connect(server_->port(), TLS1_1_VERSION, TLS1_1_VERSION).handshake);
  EXPECT_FALSE(Connect(server_->port(), TLS1_VERSION, TLS1_VERSION).handshake);
}

TEST_F(TlsServerTest, Tls12CbcAndNonForwardSecretSuitesAreRefused) {
  for (const char* suite : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256",
                            "AES128-GCM-SHA256", "AES256-SHA"}) {
    EXPECT_FALSE(Connect(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, suite).handshake) << suite;
  }
}

TEST_F(TlsServerTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  test::HttpClient client("127.0.0.1", server_->port(), std::chrono::seconds(5));

  test::HttpResponse response = client.Request("GET", "/api/v1/ping");

  EXPECT_EQ(response.status, 0);
}

TEST_F(TlsServerTest, SelfSignedCertificateIsAnEcKeyForLocalhostInOwnerOnlyFiles) {
  struct stat st {};
  ASSERT_EQ(::stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(cert_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::FILE* f = std::fopen(cert_.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EVP_PKEY* key = X509_get0_pubkey(cert);

  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(X509_verify(cert, key), 1);  // self-signed
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  X509_free(cert);
  EXPECT_ERROR_CODE(http::GenerateSelfSignedCertificate(cert_, key_), ErrorCode::kAlreadyExists);
}

TEST(TlsServerOptions, MissingOrMismatchedCertificateFilesNameTheField) {
  testing::TempDir dir;
  ASSERT_OK(http::GenerateSelfSignedCertificate(dir.File("a.crt"), dir.File("a.key")));
  ASSERT_OK(http::GenerateSelfSignedCertificate(dir.File("b.crt"), dir.File("b.key")));
  http::Router router;
  auto start = [&](std::string cert, std::string key) {
    http::ServerOptions options;
    options.tls_cert_file = std::move(cert);
    options.tls_key_file = std::move(key);
    return http::Server::Start(options, router);
  };

  EXPECT_FIELD_ERROR(start(dir.File("a.crt"), ""), "tls-key");
  EXPECT_FIELD_ERROR(start("", dir.File("a.key")), "tls-cert");
  EXPECT_FIELD_ERROR(start(dir.File("missing.crt"), dir.File("a.key")), "tls-cert");
  EXPECT_FIELD_ERROR(start(dir.File("a.crt"), dir.File("b.key")), "tls-key");
}

class RuntimeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", "tls-test-admin-password", 1);
    auto runtime = app::Runtime::Open({.data_dir = dir_.path().string()});
    ASSERT_OK(runtime);
    runtime_ = std::move(runtime).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
};

TEST_F(RuntimeTlsTest, PlainHttpOnANonLoopbackAddressIsRefused) {
  auto started = runtime_->Start({.listen = "0.0.0.0:0", .access_log = false, .allow_root = true});

  EXPECT_ERROR_CODE(started, ErrorCode::kFailedPrecondition);
  EXPECT_NE(started.error().message().find("--insecure-dev"), std::string::npos);
}

// S20: docs/security.md "Hardening" — root is refused where the network reaches the server.
TEST_F(RuntimeTlsTest, RootIsRefusedOffLoopbackUnlessAllowed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs to run as root";

  auto refused = runtime_->Start({.listen = "0.0.0.0:0", .access_log = false, .tls_self_signed = true});
  auto loopback = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false});

  EXPECT_ERROR_CODE(refused, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("--allow-root"), std::string::npos);
  EXPECT_OK(loopback);
}

TEST_F(RuntimeTlsTest, InsecureDevAllowsPlainHttpOffLoopback) {
  auto started = runtime_->Start({.listen = "0.0.0.0:0", .access_log = false, .insecure_dev = true, .allow_root = true});

  EXPECT_OK(started);
}

TEST_F(RuntimeTlsTest, SelfSignedServesHttpsOffLoopbackWithItsCertificateInTheDataDir) {
  auto started = runtime_->Start({.listen = "0.0.0.0:0", .access_log = false, .tls_self_signed = true, .allow_root = true});

  ASSERT_OK(started);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "tls-self-signed.key"));
  TlsOutcome out = Connect((*started)->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  EXPECT_TRUE(out.handshake);
  EXPECT_NE(out.response.find("Strict-Transport-Security"), std::string::npos);
}

}  // namespace
}  // namespace panorama
