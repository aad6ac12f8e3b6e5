#include "security/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace panorama::security {

SecretBytes::SecretBytes(size_t size) : size_(size) {
  // sodium_malloc needs sodium_init; calling it again is a cheap no-op, so no caller can forget it.
  if (sodium_init() < 0) throw std::bad_alloc();
  data_ = static_cast<unsigned char*>(sodium_malloc(size));
  // Out of guarded memory is not recoverable here: the process cannot hold keys safely.
  if (data_ == nullptr) throw std::bad_alloc();
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // zeroes before freeing
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MasterKeyRing::Add(int version, SecretBytes key) { keys_.insert_or_assign(version, std::move(key)); }

const SecretBytes* MasterKeyRing::Get(int version) const {
  auto it = keys_.find(version);
  return it == keys_.end() ? nullptr : &it->second;
}

namespace {

// Decodes base64 straight into guarded memory, so the key never sits in an ordinary heap buffer.
Result<SecretBytes> DecodeKey(std::string_view b64, std::string_view field) {
  SecretBytes key(kKeyBytes);
  size_t len = 0;
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    if (sodium_base642bin(key.data(), key.size(), b64.data(), b64.size(), nullptr, &len, nullptr, variant) == 0 &&
        len == kKeyBytes) {
      return key;
    }
  }
  return Error::InvalidField(std::string(field), "must be the base64 of exactly 32 bytes");
}

Result<int> ParseVersion(std::string_view text, std::string_view field) {
  if (text.size() < 2 || text[0] != 'v') return Error::InvalidField(std::string(field), "key version must be v<N>");
  int v = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9' || v > 100000) return Error::InvalidField(std::string(field), "key version must be v<N>");
    v = v * 10 + (c - '0');
  }
  if (v < 1) return Error::InvalidField(std::string(field), "key version must be at least v1");
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<MasterKeyRing> ParseMasterKeys(std::string_view text, std::string_view field) {
  MasterKeyRing ring;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    constexpr std::string_view kTag = "panorama-master-key ";
    if (line.substr(0, kTag.size()) != kTag) {
      return Error::InvalidField(std::string(field), "lines must read 'panorama-master-key v<N> <base64>'");
    }
    line.remove_prefix(kTag.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return Error::InvalidField(std::string(field), "lines must read 'panorama-master-key v<N> <base64>'");
    }
    ASSIGN_OR_RETURN(int version, ParseVersion(line.substr(0, space), field));
    ASSIGN_OR_RETURN(SecretBytes key, DecodeKey(Trim(line.substr(space + 1)), field));
    if (ring.Has(version)) return Error::InvalidField(std::string(field), "key version listed twice");
    ring.Add(version, std::move(key));
  }
  if (ring.empty()) return Error::InvalidField(std::string(field), "holds no master key");
  return ring;
}

Result<MasterKeyRing> ParseMasterKeyEnv(std::string_view value) {
  constexpr std::string_view kField = "PANORAMA_MASTER_KEY";
  MasterKeyRing ring;
  value = Trim(value);
  if (value.find(':') == std::string_view::npos) {
    ASSIGN_OR_RETURN(SecretBytes key, DecodeKey(value, kField));
    ring.Add(1, std::move(key));
    return ring;
  }
  size_t pos = 0;
  while (pos < value.size()) {
    size_t end = value.find(',', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = Trim(value.substr(pos, end - pos));
    pos = end + 1;
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) return Error::InvalidField(std::string(kField), "items must be v<N>:<base64>");
    ASSIGN_OR_RETURN(int version, ParseVersion(item.substr(0, colon), kField));
    ASSIGN_OR_RETURN(SecretBytes key, DecodeKey(item.substr(colon + 1), kField));
    ring.Add(version, std::move(key));
  }
  if (ring.empty()) return Error::InvalidField(std::string(kField), "holds no master key");
  return ring;
}

Result<MasterKeyRing> LoadMasterKeys(const MasterKeySource& source) {
  if (!source.file.empty()) {
    constexpr std::string_view kField = "master_key_file";
    int fd = ::open(source.file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Error::InvalidField(std::string(kField), "cannot open " + source.file + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Error::InvalidField(std::string(kField), source.file + " is not a regular file");
    }
    if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
      ::close(fd);
      return Error::InvalidField(std::string(kField),
                                 source.file + " must be owned by this user and owner-only (chmod 600)");
    }
    // Read into guarded memory; the file is a few lines.
    SecretBytes buffer(4096);
    size_t used = 0;
    while (used < buffer.size()) {
      ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      used += static_cast<size_t>(n);
    }
    ::close(fd);
    if (used == buffer.size()) return Error::InvalidField(std::string(kField), "is larger than 4 KiB");
    return ParseMasterKeys(std::string_view(reinterpret_cast<const char*>(buffer.data()), used), kField);
  }
  if (!source.command.empty()) {
    constexpr std::string_view kField = "master_key_command";
    FILE* pipe = ::popen(source.command.c_str(), "r");
    if (pipe == nullptr) return Error::InvalidField(std::string(kField), "cannot run the command");
    SecretBytes buffer(4096);
    size_t used = std::fread(buffer.data(), 1, buffer.size(), pipe);
    int status = ::pclose(pipe);
    if (status != 0) return Error::InvalidField(std::string(kField), "the command failed (exit status " + std::to_string(status) + ")");
    if (used == buffer.size()) return Error::InvalidField(std::string(kField), "printed more than 4 KiB");
    return ParseMasterKeys(std::string_view(reinterpret_cast<const char*>(buffer.data()), used), kField);
  }
  if (!source.env_value.empty()) return ParseMasterKeyEnv(source.env_value);
  return Error::FailedPrecondition(
      "no master key: set PANORAMA_MASTER_KEY, --master-key-file or --master-key-command "
      "(create one with `panorama key init --out FILE`), or use --insecure-dev for a throw-away setup");
}

Result<void> WriteMasterKeyFile(const std::string& path, const MasterKeyRing& ring, bool replace) {
  constexpr std::string_view kField = "out";
  if (!replace && ::access(path.c_str(), F_OK) == 0) {
    return Error(ErrorCode::kAlreadyExists, path + " already exists; refusing to overwrite a master key");
  }
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::InvalidField(std::string(kField), "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  std::string header = "# Panorama master key. Keep it outside the data directory and its backups.\n";
  ok = ok && ::write(fd, header.data(), header.size()) == static_cast<ssize_t>(header.size());
  for (const auto& [version, key] : ring.keys()) {
    SecretBytes line(160);
    char* out = reinterpret_cast<char*>(line.data());
    int prefix = std::snprintf(out, line.size(), "panorama-master-key v%d ", version);
    sodium_bin2base64(out + prefix, line.size() - static_cast<size_t>(prefix) - 1, key.data(), key.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    size_t len = std::strlen(out);
    out[len++] = '\n';
    ok = ok && ::write(fd, out, len) == static_cast<ssize_t>(len);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error::InvalidField(std::string(kField), "cannot write " + path + ": " + std::strerror(errno));
  }
  return Ok();
}

SecretBytes RandomKey() {
  SecretBytes key(kKeyBytes);
  randombytes_buf(key.data(), key.size());
  return key;
}

SecretBytes DeriveKey(const SecretBytes& from, std::string_view context8, uint64_t id) {
  char ctx[crypto_kdf_CONTEXTBYTES] = {};
  std::memcpy(ctx, context8.data(), std::min(context8.size(), sizeof ctx));
  SecretBytes out(kKeyBytes);
  crypto_kdf_derive_from_key(out.data(), out.size(), id, ctx, from.data());
  return out;
}

SecretBytes DeriveKek(const SecretBytes& master) { return DeriveKey(master, "pano-kek", 1); }

SecretBytes DerivePseudonymKey(const SecretBytes& master, uint64_t recipient_id) {
  return DeriveKey(master, "pano-psk", recipient_id);
}

bool DisableCoreDumps() {
  struct rlimit none {0, 0};
  bool ok = ::setrlimit(RLIMIT_CORE, &none) == 0;
  ok = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && ok;
  return ok;
}

}  // namespace panorama::security
