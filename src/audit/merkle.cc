#include "audit/merkle.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace panorama::audit {
namespace {

Hash LeafHash(const unsigned char* data, size_t size) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const unsigned char prefix = 0x00;
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, data, size);
  Hash out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  Hash out;
  crypto_hash_sha256(out.data(), buf, sizeof buf);
  return out;
}

// RFC 9162: k is the largest power of two smaller than n; recursion depth is log2(n).
template <typename LeafFn>
Hash Mth(size_t begin, size_t end, const LeafFn& leaf) {
  size_t n = end - begin;
  if (n == 1) return leaf(begin);
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(Mth(begin, begin + k, leaf), Mth(begin + k, end, leaf));
}

std::string BytesToHex(const std::string& bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::string> HexToBytes(std::string_view hex, size_t expected) {
  std::string out(expected, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), expected, hex.data(), hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != expected || hex.size() != expected * 2) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

Hash MerkleRoot(const std::vector<std::string>& leaves) {
  if (leaves.empty()) return Sha256("");
  return Mth(0, leaves.size(), [&](size_t i) {
    return LeafHash(reinterpret_cast<const unsigned char*>(leaves[i].data()), leaves[i].size());
  });
}

Hash MerkleRootOfHashes(const std::vector<Hash>& leaves) {
  if (leaves.empty()) return Sha256("");
  return Mth(0, leaves.size(), [&](size_t i) { return LeafHash(leaves[i].data(), leaves[i].size()); });
}

std::string CheckpointMessage(int64_t from_seq, int64_t to_seq, std::string_view merkle_root_hex,
                              std::string_view head_hash_hex, int64_t created_at_ms) {
  std::string out = "pano-ledger-checkpoint-v1|";
  out += std::to_string(from_seq) + "|" + std::to_string(to_seq) + "|";
  out += merkle_root_hex;
  out += "|";
  out += head_hash_hex;
  out += "|" + std::to_string(created_at_ms);
  return out;
}

Result<LedgerSigner> LedgerSigner::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::NotFound("signing key " + path + " not found");
  std::string hex;
  std::getline(in, hex);
  auto seed = HexToBytes(hex, crypto_sign_SEEDBYTES);
  if (!seed) return Error::InvalidField("signing key", path + " is not a 64-digit hex Ed25519 seed");
  LedgerSigner signer;
  signer.secret_key_.resize(crypto_sign_SECRETKEYBYTES);
  signer.public_key_.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(signer.public_key_.data()),
                           reinterpret_cast<unsigned char*>(signer.secret_key_.data()),
                           reinterpret_cast<const unsigned char*>(seed->data()));
  sodium_memzero(seed->data(), seed->size());
  sodium_memzero(hex.data(), hex.size());
  return signer;
}

Result<LedgerSigner> LedgerSigner::LoadOrCreate(const std::string& path) {
  auto loaded = Load(path);
  if (loaded || loaded.error().code() != ErrorCode::kNotFound) return loaded;
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  std::string hex(2 * sizeof seed + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), seed, sizeof seed);
  sodium_memzero(seed, sizeof seed);
  hex.back() = '\n';
  // O_EXCL: two processes starting at once must not overwrite each other's key.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Load(path);
    return Error::Unavailable("cannot create signing key " + path + ": " + std::strerror(errno));
  }
  bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(hex.data(), hex.size());
  if (!written) return Error::Unavailable("cannot write signing key " + path);
  return Load(path);
}

std::string LedgerSigner::PublicKeyHex() const { return BytesToHex(public_key_); }

std::string LedgerSigner::SignHex(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(secret_key_.data()));
  return BytesToHex(sig);
}

bool VerifySignature(std::string_view public_key_hex, std::string_view message, std::string_view signature_hex) {
  auto pk = HexToBytes(public_key_hex, crypto_sign_PUBLICKEYBYTES);
  auto sig = HexToBytes(signature_hex, crypto_sign_BYTES);
  if (!pk || !sig) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(pk->data())) == 0;
}

}  // namespace panorama::audit
