#pragma once
// RFC 9162 §2.1.1 Merkle Tree Hash over ledger entries, and the Ed25519-signed checkpoint message.

#include <string>
#include <string_view>
#include <vector>

#include "audit/ledger_entry.h"
#include "core/result.h"

namespace panorama::audit {

// MTH(D[n]) with leaf hash SHA-256(0x00 | d) and node hash SHA-256(0x01 | left | right). The ledger's leaves
// are the 32 raw bytes of each entry_hash.
Hash MerkleRoot(const std::vector<std::string>& leaves);
Hash MerkleRootOfHashes(const std::vector<Hash>& leaves);

// The exact bytes a checkpoint signature covers.
std::string CheckpointMessage(int64_t from_seq, int64_t to_seq, std::string_view merkle_root_hex,
                              std::string_view head_hash_hex, int64_t created_at_ms);

// Ed25519 signing key kept in its own file (the LSK). Thread-safe after construction.
class LedgerSigner {
 public:
  // Loads the key at `path`, or creates it (mode 0600) when absent. kInvalidArgument naming "signing key"
  // when the file is malformed, kUnavailable when it cannot be read or written.
  static Result<LedgerSigner> LoadOrCreate(const std::string& path);
  // Loads an existing key only; kNotFound when absent.
  static Result<LedgerSigner> Load(const std::string& path);

  std::string PublicKeyHex() const;
  std::string SignHex(std::string_view message) const;

 private:
  std::string secret_key_;  // crypto_sign_SECRETKEYBYTES raw bytes
  std::string public_key_;
};

// true when `signature_hex` is a valid Ed25519 signature of `message` under `public_key_hex`.
bool VerifySignature(std::string_view public_key_hex, std::string_view message, std::string_view signature_hex);

}  // namespace panorama::audit
