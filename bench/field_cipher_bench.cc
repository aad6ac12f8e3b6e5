// Field envelope seal/open per cipher (SECURITY.md §2.2): FieldEncryptor::Seal and ::Open through the real path
// (header, associated data, DEK from the in-memory cache, random nonce), for XChaCha20-Poly1305 (libsodium) and
// AES-256-GCM (OpenSSL EVP), at a short field (16 B: a phone), a typical one (256 B: an address or traits) and a
// note body (4 KiB). The keystore is a temporary file; the one customer's DEK stays cached, as for a hot row.
//
// Run: build/bench/field_cipher_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "security/field_encryptor.h"
#include "storage/keystore.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::security {
namespace {

const storage::FieldRef kAt{"customers", "address", 42, CustomerId(42)};

// One encryptor per cipher over its own temporary keystore, kept for the whole run.
FieldEncryptor& EncryptorFor(FieldCipher cipher) {
  static testing::TempDir dir;
  static std::unique_ptr<FieldEncryptor> encryptors[3];
  auto& slot = encryptors[static_cast<int>(cipher)];
  if (!slot) {
    auto keystore = storage::OpenSqliteKeyStore(
        {.path = dir.File(std::string(FieldCipherName(cipher)) + ".db"), .synchronous_full = false});
    if (!keystore) std::abort();
    auto opened = FieldEncryptor::Open(testing::RandomRing(), std::move(keystore).value(), {.cipher = cipher});
    if (!opened) std::abort();
    slot = std::move(opened).value();
  }
  return *slot;
}

void BM_Seal(benchmark::State& state, FieldCipher cipher) {
  FieldEncryptor& crypto = EncryptorFor(cipher);
  const std::string plain(static_cast<size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    auto sealed = crypto.Seal(kAt, plain);
    if (!sealed) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Open(benchmark::State& state, FieldCipher cipher) {
  FieldEncryptor& crypto = EncryptorFor(cipher);
  const std::string plain(static_cast<size_t>(state.range(0)), 'a');
  auto sealed = crypto.Seal(kAt, plain);
  if (!sealed) std::abort();
  for (auto _ : state) {
    auto opened = crypto.Open(kAt, *sealed);
    if (!opened || opened->size() != plain.size()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// The nonce alone (libsodium's randombytes_buf, 24 bytes), a fixed part of every seal.
void BM_RandomNonce(benchmark::State& state) {
  unsigned char nonce[24];
  for (auto _ : state) {
    randombytes_buf(nonce, sizeof nonce);
    benchmark::DoNotOptimize(nonce);
  }
}

BENCHMARK(BM_RandomNonce);
BENCHMARK_CAPTURE(BM_Seal, xchacha20_poly1305, FieldCipher::kXChaCha20Poly1305)->Arg(16)->Arg(256)->Arg(4096);
BENCHMARK_CAPTURE(BM_Seal, aes_256_gcm, FieldCipher::kAes256Gcm)->Arg(16)->Arg(256)->Arg(4096);
BENCHMARK_CAPTURE(BM_Open, xchacha20_poly1305, FieldCipher::kXChaCha20Poly1305)->Arg(16)->Arg(256)->Arg(4096);
BENCHMARK_CAPTURE(BM_Open, aes_256_gcm, FieldCipher::kAes256Gcm)->Arg(16)->Arg(256)->Arg(4096);

}  // namespace
}  // namespace panorama::security

BENCHMARK_MAIN();
