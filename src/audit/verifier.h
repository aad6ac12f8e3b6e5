#pragma once
// `panorama audit verify`: recomputes the whole hash chain, every checkpoint's Merkle root and Ed25519
// signature, and (with a witness file) that nothing after a shipped checkpoint was cut off.

#include <cstdint>
#include <string>

#include "core/result.h"

namespace panorama::storage {
class Store;
}

namespace panorama::audit {

struct VerifyOptions {
  std::string public_key_hex;  // the signing key's public half (`panorama audit pubkey`)
  std::string witness_path;    // optional JSON-lines file of shipped checkpoints
  // false: checkpoints' Merkle roots and heads are still checked, their signatures not (restore into a data
  // directory that has no signing key and was given no public key).
  bool check_signatures = true;
};

struct VerifyReport {
  int64_t entries = 0;
  int64_t checkpoints = 0;
  int64_t witness_checkpoints = 0;
};

// kFailedPrecondition "ledger broken at seq N: <reason>" naming the first broken seq (edit, delete, insert,
// reorder, or entries missing at the tail); kInvalidArgument naming "witness" for an unreadable or malformed
// witness file; storage errors as they come.
Result<VerifyReport> VerifyLedger(storage::Store& store, const VerifyOptions& options);

// The same over the SQLite file at `path`, opened ledger-only (no keys). Used by `panorama restore` on a private
// copy of the decrypted backup: opening may apply pending migrations to that copy.
Result<VerifyReport> VerifyLedgerFile(const std::string& path, const VerifyOptions& options);

}  // namespace panorama::audit
