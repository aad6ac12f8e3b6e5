#include "security/field_encryptor.h"

#include <sodium.h>

#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "security/aes_gcm.h"
#include "security/crypto_util.h"

namespace panorama::security {
namespace {

constexpr unsigned char kEnvelopeVersion = 1;
constexpr unsigned char kAlgXChaCha = static_cast<unsigned char>(FieldCipher::kXChaCha20Poly1305);
constexpr unsigned char kAlgAesGcm = static_cast<unsigned char>(FieldCipher::kAes256Gcm);
constexpr size_t kHeaderBytes = 4;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;  // 24
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;      // 16
constexpr size_t kSlotsPerChunk = 1024;
constexpr int kRewrapBatch = 500;
constexpr const char* kBidxSubject = "system:bidx";
constexpr std::string_view kKcvPlain = "panorama key check v1";
constexpr const char* kCipherMeta = "field_cipher";

std::string SubjectName(CustomerId id) { return "c:" + std::to_string(id.value()); }

std::string WrapAd(std::string_view subject, int version) {
  return "dek|" + std::string(subject) + "|" + std::to_string(version);
}

// AEAD with a fresh random 192-bit nonce: nonce | ct | tag. Random nonces are safe at this size (XChaCha).
std::string AeadSeal(const unsigned char* key, std::string_view plain, std::string_view ad, std::string prefix = {}) {
  std::string out = std::move(prefix);
  size_t base = out.size();
  out.resize(base + kNonceBytes + plain.size() + kTagBytes);
  auto* p = reinterpret_cast<unsigned char*>(out.data()) + base;
  randombytes_buf(p, kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kNonceBytes, &clen, reinterpret_cast<const unsigned char*>(plain.data()),
                                             plain.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                             nullptr, p, key);
  return out;
}

// Decrypts nonce | ct | tag into `out` (out.size() must be the plaintext size); false when authentication fails.
bool AeadOpen(const unsigned char* key, std::string_view sealed, std::string_view ad, unsigned char* out) {
  if (sealed.size() < kNonceBytes + kTagBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  unsigned long long mlen = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, nullptr, p + kNonceBytes, sealed.size() - kNonceBytes,
                                                    reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p,
                                                    key) == 0;
}

// AES-256-GCM with a fresh random 96-bit nonce: prefix | nonce | ct | tag.
Result<std::string> GcmSeal(const unsigned char* key, std::string_view plain, std::string_view ad, std::string prefix) {
  std::string out = std::move(prefix);
  size_t base = out.size();
  out.resize(base + kAesGcmNonceBytes + plain.size() + kAesGcmTagBytes);
  auto* p = reinterpret_cast<unsigned char*>(out.data()) + base;
  randombytes_buf(p, kAesGcmNonceBytes);
  if (!AesGcmSeal(key, p, plain, ad, p + kAesGcmNonceBytes)) return Error::Internal("AES-256-GCM encryption failed");
  return out;
}

// The nonce size of an envelope's alg byte; 0 for an alg this version does not know.
size_t NonceBytesOf(unsigned char alg) {
  switch (alg) {
    case kAlgXChaCha: return kNonceBytes;
    case kAlgAesGcm: return kAesGcmNonceBytes;
    default: return 0;
  }
}

Error IntegrityError(std::string what) { return Error::Internal("integrity error: " + what); }

// Small secrets under a system data key (FieldEncryptor::SystemSealer).
class SystemKeySealer final : public SecretSealer {
 public:
  explicit SystemKeySealer(SecretBytes key) : key_(std::move(key)) {}

  // SecretSealer
  Result<std::string> Seal(std::string_view plaintext, std::string_view context) const override {
    std::string raw = AeadSeal(key_.data(), plaintext, "sealed|" + std::string(context));
    std::string text(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    text.resize(std::char_traits<char>::length(text.c_str()));
    return "v2:" + text;
  }
  Result<std::string> Open(std::string_view sealed, std::string_view context) const override {
    if (!sealed.starts_with("v2:")) return Error::Internal("sealed secret is not sealed under a system data key");
    auto raw = DecodeBase64(sealed.substr(3));
    if (!raw || raw->size() < kNonceBytes + kTagBytes) return Error::Internal("sealed secret is malformed");
    std::string plain(raw->size() - kNonceBytes - kTagBytes, '\0');
    if (!AeadOpen(key_.data(), *raw, "sealed|" + std::string(context), reinterpret_cast<unsigned char*>(plain.data()))) {
      return Error::Internal("sealed secret does not open under the system data key");
    }
    return plain;
  }

 private:
  SecretBytes key_;
};

}  // namespace

struct FieldEncryptor::State {
  FieldEncryptorOptions options;
  std::mutex mu;
  // guarded by mu
  MasterKeyRing ring;
  std::map<int, SecretBytes> keks;  // by master version
  int master_current = 0;
  FieldCipher cipher = FieldCipher::kXChaCha20Poly1305;
  struct Cached {
    int64_t subject = 0;
    int current = 0;
    std::vector<std::pair<int, size_t>> slots;  // (dek version, arena slot)
    int pinned = 0;                             // versions not yet in the keystore
  };
  std::list<Cached> lru;  // front: most recently used
  std::unordered_map<int64_t, std::list<Cached>::iterator> index;
  std::vector<SecretBytes> chunks;
  std::vector<size_t> free_slots;
  size_t used_slots = 0;
  std::vector<std::pair<int64_t, int>> pending;  // (subject, version) to write at Flush
  // immutable after Open
  std::map<uint32_t, SecretBytes> bidx_keys;

  unsigned char* Slot(size_t slot) { return chunks[slot / kSlotsPerChunk].data() + (slot % kSlotsPerChunk) * kKeyBytes; }

  size_t AllocSlot() {
    EvictOne();  // keeps the cache at its capacity (pinned keys may push it beyond)
    if (free_slots.empty()) {
      size_t base = chunks.size() * kSlotsPerChunk;
      chunks.emplace_back(kSlotsPerChunk * kKeyBytes);
      for (size_t i = kSlotsPerChunk; i-- > 0;) free_slots.push_back(base + i);
    }
    size_t slot = free_slots.back();
    free_slots.pop_back();
    ++used_slots;
    return slot;
  }

  void FreeSlots(Cached& c) {
    for (auto& [version, slot] : c.slots) {
      sodium_memzero(Slot(slot), kKeyBytes);
      free_slots.push_back(slot);
      --used_slots;
    }
    c.slots.clear();
  }

  // Frees the least recently used unpinned subject when the cache is at capacity.
  void EvictOne() {
    if (used_slots < options.cache_capacity) return;
    for (auto it = lru.rbegin(); it != lru.rend(); ++it) {
      if (it->pinned) continue;
      FreeSlots(*it);
      index.erase(it->subject);
      lru.erase(std::next(it).base());
      return;
    }
  }

  void Forget(int64_t subject) {
    auto it = index.find(subject);
    if (it == index.end()) return;
    FreeSlots(*it->second);
    lru.erase(it->second);
    index.erase(it);
    std::erase_if(pending, [&](const auto& p) { return p.first == subject; });
  }

  Result<const unsigned char*> Kek(int master_version) {
    if (auto it = keks.find(master_version); it != keks.end()) return it->second.data();
    if (!ring.Has(master_version) && options.reload) {
      ASSIGN_OR_RETURN(MasterKeyRing reloaded, options.reload());
      ring = std::move(reloaded);
    }
    const SecretBytes* mk = ring.Get(master_version);
    if (mk == nullptr) {
      return Error::FailedPrecondition("master key v" + std::to_string(master_version) +
                                       " is needed by the keystore but not available");
    }
    auto [it, inserted] = keks.emplace(master_version, DeriveKek(*mk));
    return it->second.data();
  }

  // The cached entry of `subject`, loading (and unwrapping) its keys from the keystore on a miss; nullptr when
  // the subject has no key.
  Result<Cached*> Find(storage::KeyStore& keystore, int64_t subject) {
    if (auto it = index.find(subject); it != index.end()) {
      lru.splice(lru.begin(), lru, it->second);
      return &*it->second;
    }
    std::string name = "c:" + std::to_string(subject);
    ASSIGN_OR_RETURN(auto keys, keystore.GetKeys(name));
    if (keys.empty()) return static_cast<Cached*>(nullptr);
    Cached c;
    c.subject = subject;
    for (const auto& k : keys) {
      ASSIGN_OR_RETURN(const unsigned char* kek, Kek(k.master_version));
      size_t slot = AllocSlot();
      if (k.wrapped.size() != kNonceBytes + kKeyBytes + kTagBytes ||
          !AeadOpen(kek, k.wrapped, WrapAd(name, k.key_version), Slot(slot))) {
        sodium_memzero(Slot(slot), kKeyBytes);
        free_slots.push_back(slot);
        --used_slots;
        FreeSlots(c);
        return IntegrityError("data key of customer " + std::to_string(subject) + " failed to unwrap");
      }
      c.slots.emplace_back(k.key_version, slot);
      c.current = k.key_version;
    }
    lru.push_front(std::move(c));
    index[subject] = lru.begin();
    return &lru.front();
  }

  const unsigned char* KeyOf(Cached& c, int version) {
    for (auto& [v, slot] : c.slots) {
      if (v == version) return Slot(slot);
    }
    return nullptr;
  }

  Cached& AddVersion(Cached* existing, int64_t subject) {
    // Pin first: allocating a slot may evict, and must never evict the entry being extended.
    if (existing != nullptr) existing->pinned += 1;
    size_t slot = AllocSlot();
    if (existing == nullptr) {
      lru.push_front(Cached{.subject = subject, .pinned = 1});
      index[subject] = lru.begin();
      existing = &lru.front();
    }
    randombytes_buf(Slot(slot), kKeyBytes);
    existing->current += 1;
    existing->slots.emplace_back(existing->current, slot);
    pending.emplace_back(subject, existing->current);
    return *existing;
  }
};

FieldEncryptor::FieldEncryptor(std::unique_ptr<State> state, std::unique_ptr<storage::KeyStore> keystore)
    : state_(std::move(state)), keystore_(std::move(keystore)) {}

FieldEncryptor::~FieldEncryptor() = default;

Result<std::unique_ptr<FieldEncryptor>> FieldEncryptor::Open(MasterKeyRing ring,
                                                             std::unique_ptr<storage::KeyStore> keystore,
                                                             FieldEncryptorOptions options) {
  if (ring.empty()) return Error::FailedPrecondition("no master key");
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->ring = std::move(ring);
  ASSIGN_OR_RETURN(auto current_text, keystore->GetMeta("mk_current"));
  if (!current_text) {
    // A new keystore: record the master version, its key-check value and a random blind-index root key.
    int version = state->ring.CurrentVersion();
    ASSIGN_OR_RETURN(const unsigned char* kek, state->Kek(version));
    SecretBytes root = RandomKey();
    std::string root_plain(reinterpret_cast<const char*>(root.data()), root.size());
    std::string wrapped = AeadSeal(kek, root_plain, WrapAd(kBidxSubject, 1));
    sodium_memzero(root_plain.data(), root_plain.size());
    if (auto written = keystore->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.PutMeta("mk_current", std::to_string(version)));
      RETURN_IF_ERROR(txn.PutMeta("kcv:v" + std::to_string(version), AeadSeal(kek, kKcvPlain, "kcv")));
      RETURN_IF_ERROR(txn.PutMeta(storage::kKeystoreEpochMeta, "0"));
      RETURN_IF_ERROR(txn.PutMeta(kCipherMeta, std::string(FieldCipherName(
                                                   state->options.cipher.value_or(FieldCipher::kXChaCha20Poly1305)))));
      return txn.PutKey({kBidxSubject, 1, version, wrapped});
    }); !written) {
      return std::move(written.error());
    }
    current_text = std::to_string(version);
  }
  state->master_current = std::atoi(current_text->c_str());
  // Key check: every master version we hold that the keystore knows must open its check value.
  bool checked_current = false;
  for (const auto& [version, key] : state->ring.keys()) {
    ASSIGN_OR_RETURN(auto kcv, keystore->GetMeta("kcv:v" + std::to_string(version)));
    if (!kcv) continue;
    SecretBytes kek = DeriveKek(key);
    std::string plain(kKcvPlain.size(), '\0');
    if (kcv->size() != kNonceBytes + kKcvPlain.size() + kTagBytes ||
        !AeadOpen(kek.data(), *kcv, "kcv", reinterpret_cast<unsigned char*>(plain.data()))) {
      return Error::FailedPrecondition("wrong master key: v" + std::to_string(version) +
                                       " does not match the keystore (key check failed); nothing was changed");
    }
    checked_current = checked_current || version == state->master_current;
  }
  if (!checked_current) {
    return Error::FailedPrecondition("the keystore needs master key v" + std::to_string(state->master_current) +
                                     ", which was not given; nothing was changed");
  }
  // Identity (storage/keystore.h): after the key check, so a refused master key still leaves the file untouched.
  ASSIGN_OR_RETURN(auto id, keystore->GetMeta(storage::kKeystoreIdMeta));
  if (!id) {
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char hex[2 * sizeof raw + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    RETURN_IF_ERROR(keystore->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(auto raced, txn.GetMeta(storage::kKeystoreIdMeta));  // another process may have just set it
      return raced ? Ok() : txn.PutMeta(storage::kKeystoreIdMeta, hex);
    }));
  }
  // Blind-index keys from the root system key.
  ASSIGN_OR_RETURN(auto roots, keystore->GetKeys(kBidxSubject));
  if (roots.empty()) return IntegrityError("the keystore has no blind-index key");
  ASSIGN_OR_RETURN(const unsigned char* kek, state->Kek(roots.back().master_version));
  SecretBytes root(kKeyBytes);
  if (roots.back().wrapped.size() != kNonceBytes + kKeyBytes + kTagBytes ||
      !AeadOpen(kek, roots.back().wrapped, WrapAd(kBidxSubject, roots.back().key_version), root.data())) {
    return IntegrityError("the blind-index key failed to unwrap");
  }
  for (uint32_t field = 1; field <= static_cast<uint32_t>(storage::BlindField::kIdentity); ++field) {
    state->bidx_keys.emplace(field, DeriveKey(root, "panobidx", field));
  }
  // The recorded cipher; keystores from before the choice existed have none and sealed XChaCha20 only.
  ASSIGN_OR_RETURN(auto cipher_text, keystore->GetMeta(kCipherMeta));
  if (cipher_text) {
    auto recorded = ParseFieldCipher(*cipher_text);
    if (!recorded) {
      return Error::FailedPrecondition("the keystore names field cipher \"" + *cipher_text +
                                       "\", which this version does not know; nothing was changed");
    }
    state->cipher = *recorded;
  }
  auto encryptor = std::unique_ptr<FieldEncryptor>(new FieldEncryptor(std::move(state), std::move(keystore)));
  if (auto wanted = encryptor->state_->options.cipher; wanted && (!cipher_text || *wanted != encryptor->Cipher())) {
    RETURN_IF_ERROR(encryptor->SetCipher(*wanted));
  }
  return encryptor;
}

Result<std::string> FieldEncryptor::Seal(const storage::FieldRef& at, std::string_view plaintext) {
  if (plaintext.empty()) return std::string();
  unsigned char key[kKeyBytes];
  int version = 0;
  FieldCipher cipher;
  {
    std::lock_guard lock(state_->mu);
    cipher = state_->cipher;
    ASSIGN_OR_RETURN(State::Cached* c, state_->Find(*keystore_, at.subject.value()));
    if (c == nullptr) {
      ASSIGN_OR_RETURN(bool erased, keystore_->IsTombstoned(SubjectName(at.subject)));
      if (erased) return Error::FailedPrecondition("customer " + at.subject.ToString() + " was erased");
      c = &state_->AddVersion(nullptr, at.subject.value());
    }
    version = c->current;
    std::memcpy(key, state_->KeyOf(*c, version), kKeyBytes);
  }
  std::string header = {static_cast<char>(kEnvelopeVersion), static_cast<char>(cipher),
                        static_cast<char>((version >> 8) & 0xFF), static_cast<char>(version & 0xFF)};
  std::string ad = header + std::string(at.table) + "|" + std::string(at.column) + "|" + std::to_string(at.row) +
                   "|" + std::to_string(at.subject.value());
  Result<std::string> out = std::string();
  if (cipher == FieldCipher::kAes256Gcm) {
    out = GcmSeal(key, plaintext, ad, header);
  } else {
    out = AeadSeal(key, plaintext, ad, header);
  }
  sodium_memzero(key, sizeof key);
  return out;
}

Result<std::string> FieldEncryptor::Open(const storage::FieldRef& at, std::string_view envelope) {
  if (envelope.empty()) return std::string();
  std::string where = std::string(at.table) + "." + std::string(at.column) + " of row " + std::to_string(at.row);
  // The alg byte picks the cipher, so values sealed before a change of the deployment's cipher still open.
  const unsigned char alg = envelope.size() >= kHeaderBytes ? static_cast<unsigned char>(envelope[1]) : 0;
  const size_t nonce_bytes = NonceBytesOf(alg);
  if (envelope.size() < kHeaderBytes || envelope[0] != kEnvelopeVersion) {
    return IntegrityError(where + " is not a valid envelope");
  }
  if (nonce_bytes == 0) return IntegrityError(where + " names an unknown cipher (alg " + std::to_string(alg) + ")");
  if (envelope.size() < kHeaderBytes + nonce_bytes + kTagBytes) {
    return IntegrityError(where + " is not a valid envelope");
  }
  int version = (static_cast<unsigned char>(envelope[2]) << 8) | static_cast<unsigned char>(envelope[3]);
  unsigned char key[kKeyBytes];
  {
    std::lock_guard lock(state_->mu);
    ASSIGN_OR_RETURN(State::Cached* c, state_->Find(*keystore_, at.subject.value()));
    const unsigned char* k = c ? state_->KeyOf(*c, version) : nullptr;
    if (k == nullptr && c != nullptr && c->pinned == 0) {
      // Another process (`panorama key rotate --customer`) may have replaced this customer's key: reload once.
      state_->Forget(at.subject.value());
      ASSIGN_OR_RETURN(c, state_->Find(*keystore_, at.subject.value()));
      k = c ? state_->KeyOf(*c, version) : nullptr;
    }
    if (k == nullptr) return IntegrityError(where + ": no data key (customer erased or key lost)");
    std::memcpy(key, k, kKeyBytes);
  }
  std::string ad = std::string(envelope.substr(0, kHeaderBytes)) + std::string(at.table) + "|" +
                   std::string(at.column) + "|" + std::to_string(at.row) + "|" + std::to_string(at.subject.value());
  std::string plain(envelope.size() - kHeaderBytes - nonce_bytes - kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  std::string_view sealed = envelope.substr(kHeaderBytes);
  bool ok = alg == kAlgAesGcm
                ? AesGcmOpen(key, reinterpret_cast<const unsigned char*>(sealed.data()), sealed.substr(nonce_bytes), ad, out)
                : AeadOpen(key, sealed, ad, out);
  sodium_memzero(key, sizeof key);
  if (!ok) {
    sodium_memzero(plain.data(), plain.size());
    return IntegrityError(where + " failed authentication");
  }
  return plain;
}

std::string FieldEncryptor::BlindIndex(storage::BlindField field, std::string_view normalized) {
  const SecretBytes& key = state_->bidx_keys.at(static_cast<uint32_t>(field));
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(normalized.data()), normalized.size());
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  // Phone last-4 keeps 16 bits: a call-centre lookup, deliberately low in linkability (many false candidates,
  // confirmed after decryption). Everything else keeps 64 bits.
  size_t keep = field == storage::BlindField::kPhoneLast4 ? 2 : 8;
  return std::string(reinterpret_cast<const char*>(mac), keep);
}

Result<void> FieldEncryptor::Flush() {
  std::lock_guard lock(state_->mu);
  if (state_->pending.empty()) return Ok();
  if (auto written = keystore_->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
    // Wrap under the keystore's current master version, which an online rotation may just have moved.
    ASSIGN_OR_RETURN(auto current, txn.GetMeta("mk_current"));
    int master = current ? std::atoi(current->c_str()) : state_->master_current;
    ASSIGN_OR_RETURN(const unsigned char* kek, state_->Kek(master));
    state_->master_current = master;
    for (const auto& [subject, version] : state_->pending) {
      auto it = state_->index.find(subject);
      if (it == state_->index.end()) continue;
      const unsigned char* key = state_->KeyOf(*it->second, version);
      std::string name = "c:" + std::to_string(subject);
      std::string wrapped = AeadSeal(kek, std::string_view(reinterpret_cast<const char*>(key), kKeyBytes),
                                     WrapAd(name, version));
      RETURN_IF_ERROR(txn.PutKey({name, version, master, wrapped}));
    }
    return Ok();
  }); !written) {
    return std::move(written.error());
  }
  for (const auto& [subject, version] : state_->pending) {
    if (auto it = state_->index.find(subject); it != state_->index.end()) it->second->pinned = 0;
  }
  state_->pending.clear();
  return Ok();
}

Result<void> FieldEncryptor::Shred(CustomerId subject) {
  std::lock_guard lock(state_->mu);
  if (auto written = keystore_->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.Tombstone(SubjectName(subject), SystemClock().Now()));
    ASSIGN_OR_RETURN(auto epoch, txn.GetMeta(storage::kKeystoreEpochMeta));
    return txn.PutMeta(storage::kKeystoreEpochMeta, std::to_string((epoch ? std::atoll(epoch->c_str()) : 0) + 1));
  }); !written) {
    return std::move(written.error());
  }
  state_->Forget(subject.value());
  return Ok();
}

Result<std::vector<CustomerId>> FieldEncryptor::ShreddedSubjects() {
  ASSIGN_OR_RETURN(auto names, keystore_->ListTombstones());
  std::vector<CustomerId> out;
  for (const auto& n : names) {
    if (n.rfind("c:", 0) == 0) out.push_back(CustomerId(std::atoll(n.c_str() + 2)));
  }
  std::sort(out.begin(), out.end(), [](CustomerId a, CustomerId b) { return a.value() < b.value(); });
  return out;
}

Result<int> FieldEncryptor::NewKeyVersion(CustomerId subject) {
  std::lock_guard lock(state_->mu);
  ASSIGN_OR_RETURN(State::Cached* c, state_->Find(*keystore_, subject.value()));
  if (c == nullptr) {
    ASSIGN_OR_RETURN(bool erased, keystore_->IsTombstoned(SubjectName(subject)));
    if (erased) return Error::FailedPrecondition("customer " + subject.ToString() + " was erased");
  }
  if (c != nullptr && c->current >= 0xFFFF) return Error::FailedPrecondition("data key version limit reached");
  return state_->AddVersion(c, subject.value()).current;
}

Result<void> FieldEncryptor::RetireOldKeyVersions(CustomerId subject) {
  std::lock_guard lock(state_->mu);
  ASSIGN_OR_RETURN(State::Cached* c, state_->Find(*keystore_, subject.value()));
  if (c == nullptr) return Ok();
  if (c->pinned) return Error::FailedPrecondition("the new data key is not flushed yet");
  int current = c->current;
  if (auto written = keystore_->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
    return txn.DeleteKeysBelow(SubjectName(subject), current);
  }); !written) {
    return std::move(written.error());
  }
  std::erase_if(c->slots, [&](auto& vs) {
    if (vs.first >= current) return false;
    sodium_memzero(state_->Slot(vs.second), kKeyBytes);
    state_->free_slots.push_back(vs.second);
    --state_->used_slots;
    return true;
  });
  return Ok();
}

Result<MasterRotationReport> FieldEncryptor::RotateMaster(int new_version) {
  MasterRotationReport report;
  report.to_version = new_version;
  {
    std::lock_guard lock(state_->mu);
    report.from_version = state_->master_current;
    if (!state_->ring.Has(new_version)) {
      return Error::FailedPrecondition("master key v" + std::to_string(new_version) + " is not loaded");
    }
    ASSIGN_OR_RETURN(const unsigned char* kek, state_->Kek(new_version));
    if (auto written = keystore_->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.PutMeta("kcv:v" + std::to_string(new_version), AeadSeal(kek, kKcvPlain, "kcv")));
      return txn.PutMeta("mk_current", std::to_string(new_version));
    }); !written) {
      return std::move(written.error());
    }
    state_->master_current = new_version;
  }
  // Batches keep each keystore transaction short, so a running server's flushes interleave with the re-wrap.
  while (true) {
    std::lock_guard lock(state_->mu);
    int64_t done = 0;
    if (auto written = keystore_->Write([&](storage::KeyStoreTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(auto keys, txn.KeysNotUnder(new_version, kRewrapBatch));
      ASSIGN_OR_RETURN(const unsigned char* to, state_->Kek(new_version));
      for (auto& k : keys) {
        ASSIGN_OR_RETURN(const unsigned char* from, state_->Kek(k.master_version));
        SecretBytes dek(kKeyBytes);
        std::string ad = WrapAd(k.subject, k.key_version);
        if (k.wrapped.size() != kNonceBytes + kKeyBytes + kTagBytes || !AeadOpen(from, k.wrapped, ad, dek.data())) {
          return IntegrityError("data key of " + k.subject + " failed to unwrap during rotation");
        }
        k.wrapped = AeadSeal(to, std::string_view(reinterpret_cast<const char*>(dek.data()), kKeyBytes), ad);
        k.master_version = new_version;
        RETURN_IF_ERROR(txn.Rewrap(k));
        ++done;
      }
      return Ok();
    }); !written) {
      return std::move(written.error());
    }
    report.rewrapped += done;
    if (done == 0) break;
  }
  return report;
}

FieldCipher FieldEncryptor::Cipher() {
  std::lock_guard lock(state_->mu);
  return state_->cipher;
}

Result<void> FieldEncryptor::SetCipher(FieldCipher cipher) {
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(keystore_->Write([&](storage::KeyStoreTxn& txn) {
    return txn.PutMeta(kCipherMeta, std::string(FieldCipherName(cipher)));
  }));
  state_->cipher = cipher;
  return Ok();
}

std::string_view FieldCipherName(FieldCipher cipher) {
  return cipher == FieldCipher::kAes256Gcm ? "aes-256-gcm" : "xchacha20-poly1305";
}

Result<FieldCipher> ParseFieldCipher(std::string_view text, std::string field) {
  if (text == "xchacha20-poly1305") return FieldCipher::kXChaCha20Poly1305;
  if (text == "aes-256-gcm") return FieldCipher::kAes256Gcm;
  return Error::InvalidField(std::move(field), "must be xchacha20-poly1305 or aes-256-gcm, not \"" + std::string(text) + "\"");
}

int FieldEncryptor::CurrentMasterVersion() {
  std::lock_guard lock(state_->mu);
  return state_->master_current;
}

Result<std::string> FieldEncryptor::KeystoreId() {
  ASSIGN_OR_RETURN(auto id, keystore_->GetMeta(storage::kKeystoreIdMeta));
  return id.value_or(std::string());
}

Result<int64_t> FieldEncryptor::Epoch() {
  ASSIGN_OR_RETURN(auto epoch, keystore_->GetMeta(storage::kKeystoreEpochMeta));
  return epoch ? std::atoll(epoch->c_str()) : 0;
}

}  // namespace panorama::security

namespace panorama::security {

Result<std::unique_ptr<SecretSealer>> FieldEncryptor::SystemSealer(std::string_view purpose) {
  ASSIGN_OR_RETURN(SecretBytes key, SystemKey(purpose));
  return std::unique_ptr<SecretSealer>(new SystemKeySealer(std::move(key)));
}

Result<SecretBytes> FieldEncryptor::SystemKey(std::string_view purpose) {
  if (purpose.empty() || purpose.find('|') != std::string_view::npos) {
    return Error::InvalidField("purpose", "must be a non-empty name without '|'");
  }
  std::string subject = "system:" + std::string(purpose);
  SecretBytes key(kKeyBytes);
  std::lock_guard lock(state_->mu);
  ASSIGN_OR_RETURN(auto keys, keystore_->GetKeys(subject));
  if (keys.empty()) {
    int version = state_->master_current;
    ASSIGN_OR_RETURN(const unsigned char* kek, state_->Kek(version));
    randombytes_buf(key.data(), key.size());
    std::string plain(reinterpret_cast<const char*>(key.data()), key.size());
    std::string wrapped = AeadSeal(kek, plain, WrapAd(subject, 1));
    sodium_memzero(plain.data(), plain.size());
    RETURN_IF_ERROR(keystore_->Write([&](storage::KeyStoreTxn& txn) { return txn.PutKey({subject, 1, version, wrapped}); }));
  } else {
    const auto& newest = keys.back();
    ASSIGN_OR_RETURN(const unsigned char* kek, state_->Kek(newest.master_version));
    if (newest.wrapped.size() != kNonceBytes + kKeyBytes + kTagBytes ||
        !AeadOpen(kek, newest.wrapped, WrapAd(subject, newest.key_version), key.data())) {
      return IntegrityError("the system key " + subject + " failed to unwrap");
    }
  }
  return key;
}

}  // namespace panorama::security
