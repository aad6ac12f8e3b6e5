#include "security/secret_sealer.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include "security/crypto_util.h"

namespace panorama::security {
namespace {

using Key = std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;

class FileKeySealer final : public SecretSealer {
 public:
  explicit FileKeySealer(const Key& key) : key_(key) {}
  ~FileKeySealer() override { sodium_memzero(key_.data(), key_.size()); }

  // SecretSealer
  Result<std::string> Seal(std::string_view plaintext, std::string_view context) const override {
    std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plaintext.size() +
                        crypto_aead_xchacha20poly1305_ietf_ABYTES,
                    '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long length = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &length,
        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
        reinterpret_cast<const unsigned char*>(context.data()), context.size(), nullptr, nonce, key_.data());
    std::string text(sodium_base64_ENCODED_LEN(out.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(text.data(), text.size(), nonce, out.size(), sodium_base64_VARIANT_ORIGINAL);
    text.resize(std::char_traits<char>::length(text.c_str()));
    return "v1:" + text;
  }

  Result<std::string> Open(std::string_view sealed, std::string_view context) const override {
    if (!sealed.starts_with("v1:")) return Error::Internal("sealed secret has an unknown format");
    auto raw = DecodeBase64(sealed.substr(3));
    constexpr size_t kOverhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (!raw || raw->size() < kOverhead) return Error::Internal("sealed secret is malformed");
    const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
    std::string plain(raw->size() - kOverhead, '\0');
    unsigned long long length = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(plain.data()), &length, nullptr,
            nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            raw->size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            reinterpret_cast<const unsigned char*>(context.data()), context.size(), nonce, key_.data()) != 0) {
      return Error::Internal("sealed secret does not open under the system key");
    }
    plain.resize(length);
    return plain;
  }

 private:
  Key key_;
};

}  // namespace

Result<std::unique_ptr<SecretSealer>> OpenFileKeySealer(const std::string& key_path) {
  InitCrypto();
  unsigned char master[crypto_kdf_KEYBYTES];
  int fd = ::open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    crypto_kdf_keygen(master);
    fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error::FailedPrecondition(key_path + ": cannot create the system key file");
    bool written = ::write(fd, master, sizeof master) == static_cast<ssize_t>(sizeof master) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) {
      ::unlink(key_path.c_str());
      return Error::FailedPrecondition(key_path + ": cannot write the system key file");
    }
  } else {
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && st.st_size == static_cast<off_t>(sizeof master) &&
              (st.st_mode & 077) == 0 && ::read(fd, master, sizeof master) == static_cast<ssize_t>(sizeof master);
    ::close(fd);
    if (!ok) {
      sodium_memzero(master, sizeof master);
      return Error::FailedPrecondition(key_path + ": must be a 32-byte file readable by its owner only (0600)");
    }
  }
  Key key;
  crypto_kdf_derive_from_key(key.data(), key.size(), 1, "pn_seals", master);
  sodium_memzero(master, sizeof master);
  auto sealer = std::make_unique<FileKeySealer>(key);
  sodium_memzero(key.data(), key.size());
  return std::unique_ptr<SecretSealer>(std::move(sealer));
}

namespace {

class MigratingSealer final : public SecretSealer {
 public:
  MigratingSealer(std::unique_ptr<SecretSealer> current, std::unique_ptr<SecretSealer> legacy)
      : current_(std::move(current)), legacy_(std::move(legacy)) {}

  // SecretSealer
  Result<std::string> Seal(std::string_view plaintext, std::string_view context) const override {
    return current_->Seal(plaintext, context);
  }
  Result<std::string> Open(std::string_view sealed, std::string_view context) const override {
    if (IsLegacySealed(sealed)) {
      if (!legacy_) return Error::Internal("sealed secret needs the retired system.key, which is gone");
      return legacy_->Open(sealed, context);
    }
    return current_->Open(sealed, context);
  }

 private:
  std::unique_ptr<SecretSealer> current_;
  std::unique_ptr<SecretSealer> legacy_;
};

}  // namespace

std::unique_ptr<SecretSealer> MakeMigratingSealer(std::unique_ptr<SecretSealer> current,
                                                  std::unique_ptr<SecretSealer> legacy) {
  return std::make_unique<MigratingSealer>(std::move(current), std::move(legacy));
}

}  // namespace panorama::security
