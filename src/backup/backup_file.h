#pragma once
// The encrypted backup file format (docs/security.md, "Encrypted backups and restore").
//
//   header (168 bytes in format 2, integers little-endian)
//     magic "PNRMBKUP" (8) | format version u16 (= 2) | kind u8 (1 data, 2 keystore) | reserved u8 (0)
//     | schema version u32 | created unix ms i64 | plaintext bytes u64 | SHA-256 of the plaintext (32)
//     | keystore id (16; all zero: unknown) | keystore epoch i64 (-1: unknown)
//     | the 32-byte file key sealed to the backup public key with crypto_box_seal (80)
//   Format 1 (144 bytes) is the same without the two keystore fields; it is still read (fields absent).
//   secretstream header (24)
//   chunks: XChaCha20-Poly1305 secretstream of 64 KiB plaintext chunks (the last may be shorter), each with its
//     17-byte tag; the last one carries TAG_FINAL. The first chunk authenticates the whole header as
//     additional data, so a changed header field fails like a changed chunk.
//
// The file key is random per file and only ever leaves memory sealed to the public key: a server that writes
// backups holds no key that opens them. Reordered, dropped, duplicated or truncated chunks fail to decrypt.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "core/time.h"

namespace panorama::backup {

inline constexpr uint16_t kFormatVersion = 2;
inline constexpr uint16_t kOldestFormatVersion = 1;
inline constexpr size_t kChunkBytes = 64 * 1024;

enum class BackupKind : uint8_t { kData = 1, kKeystore = 2 };

// Raw X25519 keys (crypto_box); the secret key file also gives the public key (derived from it).
struct PublicKey {
  std::array<unsigned char, 32> bytes{};
};
struct SecretKey {
  std::array<unsigned char, 32> bytes{};
  ~SecretKey();  // wiped
};

// Writes DIR/backup.pub and DIR/backup.sec (mode 0600, creating DIR 0700). kAlreadyExists when either exists
// (a key pair is never overwritten: old backups would become unreadable).
Result<void> GenerateKeyPair(const std::string& dir);
// kInvalidArgument naming `field` when the file is missing or not a key file of that type.
Result<PublicKey> ReadPublicKey(const std::string& path, const std::string& field = "public-key");
Result<SecretKey> ReadSecretKey(const std::string& path, const std::string& field = "secret-key");

struct BackupHeader {
  uint16_t format_version = kFormatVersion;
  BackupKind kind = BackupKind::kData;
  uint32_t schema_version = 0;
  Timestamp created{};
  uint64_t plaintext_bytes = 0;
  std::array<unsigned char, 32> plaintext_sha256{};
  // Format 2: the keystore the backup belongs to (storage/keystore.h: kKeystoreIdMeta, 32 hex digits; empty when
  // unknown) and its erasure epoch when the backup was taken. A data backup takes them from the data directory's
  // keystore, a keystore backup from the copied keystore itself.
  std::string keystore_id;
  std::optional<int64_t> keystore_epoch;
};

// Encrypts the file `plaintext_path` into a new file `out_path` (0600) for `key`. `header` gives kind, schema
// version, creation time and the keystore fields; size and SHA-256 are computed here. Writes format 2 (format 1
// only when `header.format_version` asks for it, which tests use to prove old files still restore).
// kInvalidArgument for a keystore id that is not 32 hex digits; kUnavailable on I/O errors.
Result<BackupHeader> EncryptFile(const std::string& plaintext_path, const std::string& out_path,
                                 const BackupHeader& header, const PublicKey& key);

// Decrypts `backup_path` into a new file `out_path` and checks its size and SHA-256 against the header. Every
// refusal is kFailedPrecondition with the reason: "bad magic", "unsupported format version N", "wrong secret key
// or damaged key block", "chunk N failed authentication (tampered or corrupted)", "truncated", "data after
// the final chunk", "plaintext hash mismatch". On failure `out_path` may hold partial plaintext: the caller
// writes it into a private temp dir and removes it.
Result<BackupHeader> DecryptFile(const std::string& backup_path, const std::string& out_path, const SecretKey& key);

// Reads only the clear header (no key needed): what `panorama backup list` style tools show.
Result<BackupHeader> ReadHeader(const std::string& backup_path);

}  // namespace panorama::backup
