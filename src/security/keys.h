#pragma once
// The master key (SECURITY.md §2.1): loaded from PANORAMA_MASTER_KEY, an owner-only key file, or an external
// command; held in sodium_malloc'd (guarded, mlock'd) memory that is wiped when freed; versioned, so rotation
// can hold the old and the new key at once. Never in the database, logs or error messages.
//
// Key file / command output format, one key per line, '#' comments:
//   panorama-master-key v<N> <base64 of 32 bytes>
// The environment variable holds "<base64>" (version 1) or "v<N>:<base64>,v<M>:<base64>".

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace panorama::security {

inline constexpr size_t kKeyBytes = 32;

// A fixed-size secret in sodium_malloc'd memory (guard pages, mlock'd where the OS allows), zeroed by
// sodium_free on destruction. Move-only.
class SecretBytes {
 public:
  explicit SecretBytes(size_t size);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  unsigned char* data() { return data_; }
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

// Every master key version this process holds. Not thread-safe by itself; the owner guards it.
class MasterKeyRing {
 public:
  void Add(int version, SecretBytes key);
  bool Has(int version) const { return keys_.count(version) != 0; }
  const SecretBytes* Get(int version) const;
  int CurrentVersion() const { return keys_.empty() ? 0 : keys_.rbegin()->first; }
  bool empty() const { return keys_.empty(); }
  std::map<int, SecretBytes>& keys() { return keys_; }
  const std::map<int, SecretBytes>& keys() const { return keys_; }

 private:
  std::map<int, SecretBytes> keys_;
};

// Where the master key comes from; exactly one of the three is used (file, then command, then env value).
struct MasterKeySource {
  std::string file;     // --master-key-file; must be a regular file, owned by us, mode 0400/0600
  std::string command;  // --master-key-command; its standard output in the key file format
  std::string env_value;  // the value of PANORAMA_MASTER_KEY
  bool empty() const { return file.empty() && command.empty() && env_value.empty(); }
};

// Loads the ring. kInvalidArgument naming the source ("master_key_file", "PANORAMA_MASTER_KEY",
// "master_key_command") with the reason; kFailedPrecondition when no source is configured.
Result<MasterKeyRing> LoadMasterKeys(const MasterKeySource& source);
Result<MasterKeyRing> ParseMasterKeys(std::string_view text, std::string_view field);
Result<MasterKeyRing> ParseMasterKeyEnv(std::string_view value);

// Writes `ring` as a key file at `path` with mode 0600, atomically (temp file + fsync + rename). Refuses
// (kAlreadyExists) when `path` exists and `replace` is false.
Result<void> WriteMasterKeyFile(const std::string& path, const MasterKeyRing& ring, bool replace);

// A fresh random 32-byte key.
SecretBytes RandomKey();

// Derivations with crypto_kdf_derive_from_key (BLAKE2b; 8-byte contexts):
//   KEK  = KDF(MK_v, "pano-kek", 1)      wraps data keys
//   PSK  = KDF(MK, "pano-psk", id)       pseudonym keys for analytics exports
//   BIK  = KDF(bidx root, "panobidx", field)  blind-index keys; the root is a random system key in the
//          keystore (wrapped like a data key), so master rotation does not change any blind index.
SecretBytes DeriveKey(const SecretBytes& from, std::string_view context8, uint64_t id);
SecretBytes DeriveKek(const SecretBytes& master);
SecretBytes DerivePseudonymKey(const SecretBytes& master, uint64_t recipient_id);

// Core dumps off for this process (prctl PR_SET_DUMPABLE 0, RLIMIT_CORE 0): keys in memory must not end up
// in a core file. Returns false if either call failed.
bool DisableCoreDumps();

}  // namespace panorama::security
