#include "backup/backup_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace panorama::backup {
namespace {

constexpr char kMagic[8] = {'P', 'N', 'R', 'M', 'B', 'K', 'U', 'P'};
constexpr size_t kSealedKeyBytes = crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES;
constexpr size_t kHeaderBytesV1 = 8 + 2 + 1 + 1 + 4 + 8 + 8 + 32 + kSealedKeyBytes;
constexpr size_t kKeystoreIdBytes = 16;
constexpr size_t kHeaderBytesV2 = kHeaderBytesV1 + kKeystoreIdBytes + 8;
constexpr size_t kMaxHeaderBytes = kHeaderBytesV2;
constexpr size_t kPrefixBytes = 8 + 2;  // magic and format version: enough to know the header's length
constexpr size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kCipherChunkBytes = kChunkBytes + crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr char kPublicPrefix[] = "panorama-backup-public-key-v1:";
constexpr char kSecretPrefix[] = "panorama-backup-secret-key-v1:";
static_assert(kHeaderBytesV1 == 144 && kHeaderBytesV2 == 168);

size_t HeaderBytes(uint16_t version) { return version == 1 ? kHeaderBytesV1 : kHeaderBytesV2; }

Error Refuse(const std::string& reason) { return Error::FailedPrecondition("backup refused: " + reason); }

// Plain stdio with explicit checks: the file layer must report short reads (truncation) precisely.
struct CloseFile {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, CloseFile>;

Result<File> OpenRead(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error::NotFound("cannot read " + path + ": " + std::strerror(errno));
  return f;
}

// Created 0600 whatever the umask, and never over an existing file.
Result<File> CreateWrite(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  File f(::fdopen(fd, "wb"));
  if (!f) {
    ::close(fd);
    return Error::Unavailable("cannot open " + path);
  }
  return f;
}

Result<void> WriteAll(std::FILE* f, const unsigned char* data, size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) return Error::Unavailable("cannot write " + path + " (disk full?)");
  return Ok();
}

Result<void> FlushAndSync(std::FILE* f, const std::string& path) {
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) {
    return Error::Unavailable("cannot flush " + path + ": " + std::strerror(errno));
  }
  return Ok();
}

// Reads up to n bytes; fewer only at end of file.
size_t ReadUpTo(std::FILE* f, unsigned char* data, size_t n) {
  size_t total = 0;
  while (total < n) {
    size_t got = std::fread(data + total, 1, n - total, f);
    if (got == 0) break;
    total += got;
  }
  return total;
}

template <typename T>
void PutLe(unsigned char*& p, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) *p++ = static_cast<unsigned char>(static_cast<uint64_t>(value) >> (8 * i));
}
template <typename T>
T GetLe(const unsigned char*& p) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(*p++) << (8 * i);
  return static_cast<T>(value);
}

// Returns the header's length.
size_t EncodeHeader(const BackupHeader& h, const unsigned char* sealed_key, unsigned char* out) {
  unsigned char* p = out;
  std::memcpy(p, kMagic, sizeof kMagic);
  p += sizeof kMagic;
  PutLe<uint16_t>(p, h.format_version);
  *p++ = static_cast<unsigned char>(h.kind);
  *p++ = 0;
  PutLe<uint32_t>(p, h.schema_version);
  PutLe<int64_t>(p, ToUnixMillis(h.created));
  PutLe<uint64_t>(p, h.plaintext_bytes);
  std::memcpy(p, h.plaintext_sha256.data(), 32);
  p += 32;
  if (h.format_version >= 2) {
    std::memset(p, 0, kKeystoreIdBytes);
    if (!h.keystore_id.empty()) {
      sodium_hex2bin(p, kKeystoreIdBytes, h.keystore_id.data(), h.keystore_id.size(), nullptr, nullptr, nullptr);
    }
    p += kKeystoreIdBytes;
    PutLe<int64_t>(p, h.keystore_epoch.value_or(-1));
  }
  std::memcpy(p, sealed_key, kSealedKeyBytes);
  return static_cast<size_t>(p - out) + kSealedKeyBytes;
}

Result<BackupHeader> DecodeHeader(const unsigned char* in, size_t n) {
  if (n < sizeof kMagic || std::memcmp(in, kMagic, sizeof kMagic) != 0) return Refuse("bad magic (not a panorama backup)");
  if (n < kPrefixBytes) return Refuse("truncated header");
  const unsigned char* p = in + sizeof kMagic;
  BackupHeader h;
  h.format_version = GetLe<uint16_t>(p);
  if (h.format_version < kOldestFormatVersion || h.format_version > kFormatVersion) {
    return Refuse("unsupported format version " + std::to_string(h.format_version) + " (this build reads " +
                  std::to_string(kOldestFormatVersion) + " to " + std::to_string(kFormatVersion) + ")");
  }
  if (n < HeaderBytes(h.format_version)) return Refuse("truncated header");
  unsigned char kind = *p++;
  if (kind != static_cast<unsigned char>(BackupKind::kData) && kind != static_cast<unsigned char>(BackupKind::kKeystore)) {
    return Refuse("unknown backup kind " + std::to_string(kind));
  }
  h.kind = static_cast<BackupKind>(kind);
  if (*p++ != 0) return Refuse("reserved header byte is not zero");
  h.schema_version = GetLe<uint32_t>(p);
  h.created = FromUnixMillis(GetLe<int64_t>(p));
  h.plaintext_bytes = GetLe<uint64_t>(p);
  std::memcpy(h.plaintext_sha256.data(), p, 32);
  p += 32;
  if (h.format_version >= 2) {
    static constexpr unsigned char kZero[kKeystoreIdBytes] = {};
    if (std::memcmp(p, kZero, kKeystoreIdBytes) != 0) {
      char hex[2 * kKeystoreIdBytes + 1];
      sodium_bin2hex(hex, sizeof hex, p, kKeystoreIdBytes);
      h.keystore_id = hex;
    }
    p += kKeystoreIdBytes;
    int64_t epoch = GetLe<int64_t>(p);
    if (epoch < -1) return Refuse("keystore epoch " + std::to_string(epoch) + " in the header is invalid");
    if (epoch >= 0) h.keystore_epoch = epoch;
  }
  return h;
}

// Reads the clear header (its length depends on the format version) into `head`; returns the bytes read.
size_t ReadHeaderBytes(std::FILE* in, unsigned char* head) {
  size_t n = ReadUpTo(in, head, kPrefixBytes);
  if (n < kPrefixBytes || std::memcmp(head, kMagic, sizeof kMagic) != 0) return n;
  uint16_t version = static_cast<uint16_t>(head[8] | (head[9] << 8));
  if (version < kOldestFormatVersion || version > kFormatVersion) return n;
  return n + ReadUpTo(in, head + n, HeaderBytes(version) - n);
}

Result<std::string> ReadKeyFile(const std::string& path, const char* prefix, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::InvalidField(field, "cannot read key file " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string_view view(text);
  if (!view.starts_with(prefix)) {
    if (view.starts_with(kPublicPrefix) || view.starts_with(kSecretPrefix)) {
      return Error::InvalidField(field, path + " is the other half of the key pair");
    }
    return Error::InvalidField(field, path + " is not a panorama backup key file");
  }
  view.remove_prefix(std::strlen(prefix));
  std::string bytes(32, '\0');
  size_t len = 0;
  if (view.size() != 64 || sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), view.data(),
                                          view.size(), nullptr, &len, nullptr) != 0 || len != 32) {
    sodium_memzero(bytes.data(), bytes.size());
    return Error::InvalidField(field, path + " holds a malformed key");
  }
  return bytes;
}

Result<void> WriteKeyFile(const std::string& path, const char* prefix, const unsigned char* key) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key, 32);
  std::string text = std::string(prefix) + hex + "\n";
  sodium_memzero(hex, sizeof hex);
  ASSIGN_OR_RETURN(File f, CreateWrite(path));
  auto written = WriteAll(f.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size(), path);
  sodium_memzero(text.data(), text.size());
  RETURN_IF_ERROR(written);
  return FlushAndSync(f.get(), path);
}

// Wiped on every path out of the function.
struct FileKey {
  unsigned char bytes[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  ~FileKey() { sodium_memzero(bytes, sizeof bytes); }
};

}  // namespace

SecretKey::~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }

Result<void> GenerateKeyPair(const std::string& dir) {
  if (sodium_init() < 0) return Error::Internal("libsodium failed to initialise");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::InvalidField("out", "cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  std::string pub = (std::filesystem::path(dir) / "backup.pub").string();
  std::string sec = (std::filesystem::path(dir) / "backup.sec").string();
  if (std::filesystem::exists(pub, ec) || std::filesystem::exists(sec, ec)) {
    return Error::AlreadyExists("a backup key pair already exists in " + dir + "; refusing to overwrite it");
  }
  PublicKey pk;
  SecretKey sk;
  crypto_box_keypair(pk.bytes.data(), sk.bytes.data());
  RETURN_IF_ERROR(WriteKeyFile(sec, kSecretPrefix, sk.bytes.data()));
  return WriteKeyFile(pub, kPublicPrefix, pk.bytes.data());
}

Result<PublicKey> ReadPublicKey(const std::string& path, const std::string& field) {
  ASSIGN_OR_RETURN(std::string bytes, ReadKeyFile(path, kPublicPrefix, field));
  PublicKey key;
  std::memcpy(key.bytes.data(), bytes.data(), 32);
  return key;
}

Result<SecretKey> ReadSecretKey(const std::string& path, const std::string& field) {
  ASSIGN_OR_RETURN(std::string bytes, ReadKeyFile(path, kSecretPrefix, field));
  SecretKey key;
  std::memcpy(key.bytes.data(), bytes.data(), 32);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

Result<BackupHeader> EncryptFile(const std::string& plaintext_path, const std::string& out_path,
                                 const BackupHeader& header_in, const PublicKey& key) {
  if (sodium_init() < 0) return Error::Internal("libsodium failed to initialise");
  BackupHeader header = header_in;
  header.format_version = header_in.format_version == 1 ? 1 : kFormatVersion;
  if (!header.keystore_id.empty() &&
      (header.keystore_id.size() != 2 * kKeystoreIdBytes ||
       header.keystore_id.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return Error::InvalidField("keystore_id", "must be 32 lowercase hex digits");
  }
  // First pass: size and hash of the plaintext, which the header carries ahead of the stream.
  {
    ASSIGN_OR_RETURN(File in, OpenRead(plaintext_path));
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    std::vector<unsigned char> buffer(kChunkBytes);
    uint64_t total = 0;
    while (size_t n = ReadUpTo(in.get(), buffer.data(), buffer.size())) {
      crypto_hash_sha256_update(&sha, buffer.data(), n);
      total += n;
    }
    if (std::ferror(in.get())) return Error::Unavailable("cannot read " + plaintext_path);
    crypto_hash_sha256_final(&sha, header.plaintext_sha256.data());
    header.plaintext_bytes = total;
  }

  FileKey file_key;
  crypto_secretstream_xchacha20poly1305_keygen(file_key.bytes);
  unsigned char sealed[kSealedKeyBytes];
  if (crypto_box_seal(sealed, file_key.bytes, sizeof file_key.bytes, key.bytes.data()) != 0) {
    return Error::InvalidField("public-key", "is not a usable public key");
  }
  unsigned char head[kMaxHeaderBytes];
  size_t head_len = EncodeHeader(header, sealed, head);

  crypto_secretstream_xchacha20poly1305_state state;
  unsigned char stream_header[kStreamHeaderBytes];
  crypto_secretstream_xchacha20poly1305_init_push(&state, stream_header, file_key.bytes);

  ASSIGN_OR_RETURN(File in, OpenRead(plaintext_path));
  ASSIGN_OR_RETURN(File out, CreateWrite(out_path));
  RETURN_IF_ERROR(WriteAll(out.get(), head, head_len, out_path));
  RETURN_IF_ERROR(WriteAll(out.get(), stream_header, sizeof stream_header, out_path));
  std::vector<unsigned char> plain(kChunkBytes), cipher(kCipherChunkBytes);
  uint64_t done = 0;
  bool first = true;
  size_t n = ReadUpTo(in.get(), plain.data(), plain.size());
  while (true) {
    done += n;
    // The last chunk is the one that brings us to the size hashed above; the file may not grow meanwhile
    // (it is our private copy), and an empty file still gets one final chunk.
    bool last = done >= header.plaintext_bytes;
    unsigned long long cipher_len = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, cipher.data(), &cipher_len, plain.data(), n, first ? head : nullptr, first ? head_len : 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    RETURN_IF_ERROR(WriteAll(out.get(), cipher.data(), static_cast<size_t>(cipher_len), out_path));
    first = false;
    if (last) break;
    n = ReadUpTo(in.get(), plain.data(), plain.size());
    if (n == 0) return Error::Unavailable(plaintext_path + " shrank while it was encrypted");
  }
  sodium_memzero(plain.data(), plain.size());
  RETURN_IF_ERROR(FlushAndSync(out.get(), out_path));
  return header;
}

Result<BackupHeader> ReadHeader(const std::string& backup_path) {
  ASSIGN_OR_RETURN(File in, OpenRead(backup_path));
  unsigned char head[kMaxHeaderBytes];
  size_t n = ReadHeaderBytes(in.get(), head);
  return DecodeHeader(head, n);
}

Result<BackupHeader> DecryptFile(const std::string& backup_path, const std::string& out_path, const SecretKey& key) {
  if (sodium_init() < 0) return Error::Internal("libsodium failed to initialise");
  ASSIGN_OR_RETURN(File in, OpenRead(backup_path));
  unsigned char head[kMaxHeaderBytes];
  size_t head_len = ReadHeaderBytes(in.get(), head);
  ASSIGN_OR_RETURN(BackupHeader header, DecodeHeader(head, head_len));
  head_len = HeaderBytes(header.format_version);

  unsigned char public_key[crypto_box_PUBLICKEYBYTES];
  crypto_scalarmult_base(public_key, key.bytes.data());
  FileKey file_key;
  if (crypto_box_seal_open(file_key.bytes, head + head_len - kSealedKeyBytes, kSealedKeyBytes, public_key,
                           key.bytes.data()) != 0) {
    return Refuse("wrong secret key or damaged key block (the file key cannot be unsealed)");
  }
  unsigned char stream_header[kStreamHeaderBytes];
  if (ReadUpTo(in.get(), stream_header, sizeof stream_header) != sizeof stream_header) return Refuse("truncated");
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, stream_header, file_key.bytes) != 0) {
    return Refuse("damaged stream header");
  }

  ASSIGN_OR_RETURN(File out, CreateWrite(out_path));
  crypto_hash_sha256_state sha;
  crypto_hash_sha256_init(&sha);
  std::vector<unsigned char> plain(kChunkBytes), cipher(kCipherChunkBytes);
  uint64_t total = 0;
  for (uint64_t chunk = 0;; ++chunk) {
    size_t n = ReadUpTo(in.get(), cipher.data(), cipher.size());
    if (std::ferror(in.get())) return Error::Unavailable("cannot read " + backup_path);
    if (n == 0) return Refuse("truncated (no final chunk after chunk " + std::to_string(chunk) + ")");
    unsigned long long plain_len = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state, plain.data(), &plain_len, &tag, cipher.data(), n,
                                                   chunk == 0 ? head : nullptr, chunk == 0 ? head_len : 0) != 0) {
      return Refuse("chunk " + std::to_string(chunk) + " failed authentication (tampered, truncated or corrupted)");
    }
    crypto_hash_sha256_update(&sha, plain.data(), plain_len);
    total += plain_len;
    RETURN_IF_ERROR(WriteAll(out.get(), plain.data(), static_cast<size_t>(plain_len), out_path));
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
    if (n < cipher.size()) return Refuse("truncated (chunk " + std::to_string(chunk) + " is short and not final)");
  }
  sodium_memzero(plain.data(), plain.size());
  unsigned char extra;
  if (ReadUpTo(in.get(), &extra, 1) != 0) return Refuse("data after the final chunk");
  std::array<unsigned char, 32> digest{};
  crypto_hash_sha256_final(&sha, digest.data());
  if (total != header.plaintext_bytes || sodium_memcmp(digest.data(), header.plaintext_sha256.data(), 32) != 0) {
    return Refuse("plaintext hash mismatch");
  }
  RETURN_IF_ERROR(FlushAndSync(out.get(), out_path));
  return header;
}

}  // namespace panorama::backup
