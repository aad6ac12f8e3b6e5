#include "audit/verifier.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <vector>

#include "audit/ledger_entry.h"
#include "audit/merkle.h"
#include "storage/store.h"

namespace panorama::audit {
namespace {

Error Broken(int64_t seq, const std::string& reason) {
  return Error::FailedPrecondition("ledger broken at seq " + std::to_string(seq) + ": " + reason);
}

// Reads "key":"text" or "key":123 from one witness line (the fixed format LedgerService writes).
std::optional<std::string> JsonValue(std::string_view line, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  size_t pos = line.find(needle);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += needle.size();
  if (pos < line.size() && line[pos] == '"') {
    size_t end = line.find('"', pos + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(line.substr(pos + 1, end - pos - 1));
  }
  size_t end = line.find_first_of(",}", pos);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(pos, end - pos));
}

std::optional<int64_t> ToInt(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || p != text->data() + text->size()) return std::nullopt;
  return value;
}

Result<std::vector<storage::CheckpointRecord>> ReadWitness(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::InvalidField("witness", "cannot read " + path);
  std::vector<storage::CheckpointRecord> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    storage::CheckpointRecord c;
    auto from = ToInt(JsonValue(line, "from_seq"));
    auto to = ToInt(JsonValue(line, "to_seq"));
    auto at = ToInt(JsonValue(line, "created_at"));
    auto root = JsonValue(line, "merkle_root");
    auto head = JsonValue(line, "head_hash");
    auto sig = JsonValue(line, "signature");
    if (!from || !to || !at || !root || !head || !sig) {
      return Error::InvalidField("witness", "line " + std::to_string(number) + " is not a ledger checkpoint");
    }
    c.from_seq = *from;
    c.to_seq = *to;
    c.created_at = FromUnixMillis(*at);
    c.merkle_root = *root;
    c.head_hash = *head;
    c.signature = *sig;
    out.push_back(std::move(c));
  }
  return out;
}

// Checks one checkpoint against the recomputed entry hashes (hashes[i] is the hash of seq i + 1).
std::optional<Error> CheckCheckpoint(const storage::CheckpointRecord& c, const std::vector<Hash>& hashes,
                                     const std::string& public_key_hex, bool check_signature, const char* where) {
  auto last = static_cast<int64_t>(hashes.size());
  std::string what = std::string(where) + " checkpoint (" + std::to_string(c.from_seq) + ", " +
                     std::to_string(c.to_seq) + "]";
  if (c.from_seq < 0 || c.to_seq <= c.from_seq) return Broken(std::max<int64_t>(1, c.from_seq + 1), what + " is malformed");
  std::string message = CheckpointMessage(c.from_seq, c.to_seq, c.merkle_root, c.head_hash, ToUnixMillis(c.created_at));
  if (check_signature && !VerifySignature(public_key_hex, message, c.signature)) {
    return Broken(c.from_seq + 1, what + " has a bad signature");
  }
  if (c.to_seq > last) {
    return Broken(last + 1, "entries missing: the ledger ends at seq " + std::to_string(last) + " but the " + what +
                                " covers them");
  }
  std::vector<Hash> range(hashes.begin() + c.from_seq, hashes.begin() + c.to_seq);
  if (ToHex(MerkleRootOfHashes(range)) != c.merkle_root || ToHex(hashes[c.to_seq - 1]) != c.head_hash) {
    return Broken(c.from_seq + 1, what + " merkle root mismatch");
  }
  return std::nullopt;
}

}  // namespace

Result<VerifyReport> VerifyLedger(storage::Store& store, const VerifyOptions& options) {
  VerifyReport report;
  std::vector<Hash> hashes;
  std::optional<Error> broken;
  Hash prev{};
  int64_t expected = 1;
  RETURN_IF_ERROR(store.ScanLedger(0, [&](const storage::LedgerRow& row) {
    if (broken) return;
    if (row.seq != expected) {
      broken = Broken(expected, "entry missing (next stored entry is seq " + std::to_string(row.seq) + ")");
      return;
    }
    if (row.prev_hash != ToHex(prev)) {
      broken = Broken(row.seq, "previous-hash link mismatch");
      return;
    }
    Hash hash = EntryHash(prev, row.body);
    if (ToHex(hash) != row.entry_hash) {
      broken = Broken(row.seq, "hash mismatch");
      return;
    }
    if (!row.columns_match) {
      broken = Broken(row.seq, "search columns differ from the hashed entry");
      return;
    }
    // Cheap check that the hashed body claims the row's own position (a moved row fails here or above).
    std::string tail = ",\"seq\":" + std::to_string(row.seq) + "}";
    if (row.body.size() < tail.size() || row.body.compare(row.body.size() - tail.size(), tail.size(), tail) != 0) {
      broken = Broken(row.seq, "entry does not carry its own seq");
      return;
    }
    hashes.push_back(hash);
    prev = hash;
    ++expected;
  }));
  if (broken) return *broken;
  report.entries = static_cast<int64_t>(hashes.size());

  // A checkpoint failure names the first seq of its range; report the lowest across all of them.
  std::optional<Error> first;
  auto consider = [&](std::optional<Error> e) {
    if (!e) return;
    if (!first) first = std::move(e);
  };
  ASSIGN_OR_RETURN(auto checkpoints, store.ListCheckpoints());
  int64_t previous_to = 0;
  for (const auto& c : checkpoints) {
    if (c.from_seq != previous_to) {
      consider(Broken(previous_to + 1, "checkpoints are not contiguous"));
    }
    consider(CheckCheckpoint(c, hashes, options.public_key_hex, options.check_signatures, "stored"));
    previous_to = c.to_seq;
    ++report.checkpoints;
  }
  if (!options.witness_path.empty()) {
    ASSIGN_OR_RETURN(auto witnessed, ReadWitness(options.witness_path));
    for (const auto& c : witnessed) {
      consider(CheckCheckpoint(c, hashes, options.public_key_hex, options.check_signatures, "witness"));
      ++report.witness_checkpoints;
    }
  }
  if (first) return *first;
  return report;
}

Result<VerifyReport> VerifyLedgerFile(const std::string& path, const VerifyOptions& options) {
  ASSIGN_OR_RETURN(auto store, storage::OpenSqliteStore({.path = path, .read_connections = 1, .ledger_only = true}));
  return VerifyLedger(*store, options);
}

}  // namespace panorama::audit
