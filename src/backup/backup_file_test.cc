#include "backup/backup_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"

namespace panorama::backup {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void WriteAllText(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class BackupFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(GenerateKeyPair(keys_.path().string()));
    pub_ = *ReadPublicKey(keys_.File("backup.pub"));
    ASSERT_OK(ReadSecretKey(keys_.File("backup.sec")));
  }

  // A plaintext of `size` seeded random bytes, encrypted to work/backup.pnbk.
  std::string Encrypt(size_t size, BackupHeader header = {}) {
    std::mt19937 rng(7);
    plaintext_.resize(size);
    for (char& c : plaintext_) c = static_cast<char>(rng());
    WriteAllText(work_.File("plain"), plaintext_);
    std::filesystem::remove(work_.File("backup.pnbk"));
    header.schema_version = 3;
    header.created = FromUnixMillis(1'700'000'000'123);
    auto written = EncryptFile(work_.File("plain"), work_.File("backup.pnbk"), header, pub_);
    EXPECT_OK(written);
    return work_.File("backup.pnbk");
  }

  Result<BackupHeader> Decrypt(const std::string& file) {
    std::filesystem::remove(work_.File("out"));
    auto secret = ReadSecretKey(keys_.File("backup.sec"));
    return DecryptFile(file, work_.File("out"), *secret);
  }

  testing::TempDir keys_, work_;
  PublicKey pub_;
  std::string plaintext_;
};

TEST_F(BackupFileTest, RoundTripsSizesAroundChunkBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, kChunkBytes - 1, kChunkBytes, kChunkBytes + 1, 3 * kChunkBytes}) {
    std::string file = Encrypt(size);

    auto header = Decrypt(file);

    ASSERT_OK(header);
    EXPECT_EQ(ReadAll(work_.File("out")), plaintext_) << "size " << size;
    EXPECT_EQ(header->plaintext_bytes, size);
    EXPECT_EQ(header->schema_version, 3u);
    EXPECT_EQ(ToUnixMillis(header->created), 1'700'000'000'123);
  }
}

TEST_F(BackupFileTest, KeyFilesAreOwnerOnlyAndNeverOverwritten) {
  struct stat st {};
  ASSERT_EQ(::stat(keys_.File("backup.sec").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(keys_.File("backup.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string before = ReadAll(keys_.File("backup.sec"));

  EXPECT_ERROR_CODE(GenerateKeyPair(keys_.path().string()), ErrorCode::kAlreadyExists);

  EXPECT_EQ(ReadAll(keys_.File("backup.sec")), before);
}

TEST_F(BackupFileTest, RejectsSwappedAndMalformedKeyFiles) {
  EXPECT_FIELD_ERROR(ReadPublicKey(keys_.File("backup.sec")), "public-key");
  EXPECT_FIELD_ERROR(ReadSecretKey(keys_.File("backup.pub")), "secret-key");
  WriteAllText(work_.File("short.sec"), "panorama-backup-secret-key-v1:abcd\n");
  EXPECT_FIELD_ERROR(ReadSecretKey(work_.File("short.sec")), "secret-key");
  EXPECT_FIELD_ERROR(ReadSecretKey(work_.File("missing.sec")), "secret-key");
}

TEST_F(BackupFileTest, CiphertextDoesNotContainThePlaintext) {
  std::string file = Encrypt(1000);
  std::string sentinel = plaintext_.substr(100, 32);

  std::string bytes = ReadAll(file);

  EXPECT_EQ(bytes.find(sentinel), std::string::npos);
}

TEST_F(BackupFileTest, WrongSecretKeyIsRefused) {
  std::string file = Encrypt(5000);
  testing::TempDir other;
  ASSERT_OK(GenerateKeyPair(other.path().string()));
  auto wrong = ReadSecretKey(other.File("backup.sec"));

  auto result = DecryptFile(file, work_.File("out"), *wrong);

  EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  EXPECT_NE(result.error().message().find("wrong secret key"), std::string::npos);
}

TEST_F(BackupFileTest, EveryFlippedByteIsRefused) {
  std::string file = Encrypt(3 * kChunkBytes + 100);
  std::string original = ReadAll(file);
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  for (int i = 0; i < 100; ++i) {
    std::string bytes = original;
    size_t offset = rng() % bytes.size();
    bytes[offset] = static_cast<char>(bytes[offset] ^ (1 + rng() % 255));
    WriteAllText(file, bytes);

    auto result = Decrypt(file);

    EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
    if (!result) {
      EXPECT_NE(result.error().message().find("backup refused"), std::string::npos) << offset;
    }
  }
}

TEST_F(BackupFileTest, TruncationAnywhereIsRefused) {
  std::string file = Encrypt(3 * kChunkBytes + 100);
  std::string original = ReadAll(file);
  // Inside the header, at chunk boundaries (where a stream without TAG_FINAL would otherwise end cleanly),
  // inside chunks, and one byte short.
  size_t chunk = kChunkBytes + 17, start = 168 + 24;  // format 2 header, secretstream header
  for (size_t length : {size_t{0}, size_t{5}, size_t{100}, start, start + chunk, start + 2 * chunk,
                        start + 3 * chunk, start + 1000, original.size() - 17, original.size() - 1}) {
    WriteAllText(file, original.substr(0, length));

    auto result = Decrypt(file);

    EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  }
}

TEST_F(BackupFileTest, AppendedDataIsRefused) {
  // A full final chunk followed by more bytes, and a short final chunk that the extra bytes lengthen.
  for (size_t size : {kChunkBytes, size_t{100}}) {
    std::string file = Encrypt(size);
    WriteAllText(file, ReadAll(file) + "x");

    auto result = Decrypt(file);

    EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
    if (!result) {
      EXPECT_NE(result.error().message().find("backup refused"), std::string::npos);
    }
  }
}

TEST_F(BackupFileTest, KeystoreIdAndEpochRoundTripInTheClearHeader) {
  BackupHeader header;
  header.kind = BackupKind::kKeystore;
  header.keystore_id = "00112233445566778899aabbccddeeff";
  header.keystore_epoch = 41;
  std::string file = Encrypt(100, header);

  auto clear = ReadHeader(file);
  auto decrypted = Decrypt(file);

  ASSERT_OK(clear);
  ASSERT_OK(decrypted);
  EXPECT_EQ(clear->format_version, 2);
  EXPECT_EQ(clear->keystore_id, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(clear->keystore_epoch, std::optional<int64_t>(41));
  EXPECT_EQ(decrypted->keystore_id, clear->keystore_id);
  EXPECT_EQ(ReadAll(work_.File("out")), plaintext_);
  // Absent fields stay absent; the id is authenticated with the rest of the header.
  auto plain = ReadHeader(Encrypt(100));
  ASSERT_OK(plain);
  EXPECT_EQ(plain->keystore_id, "");
  EXPECT_EQ(plain->keystore_epoch, std::nullopt);
  std::string bytes = ReadAll(file);
  bytes[70] = static_cast<char>(bytes[70] ^ 1);  // inside the keystore id (bytes 64..79)
  WriteAllText(file, bytes);
  EXPECT_ERROR_CODE(Decrypt(file), ErrorCode::kFailedPrecondition);
  BackupHeader bad;
  bad.keystore_id = "not-hex";
  EXPECT_FIELD_ERROR(EncryptFile(work_.File("plain"), work_.File("bad.pnbk"), bad, pub_), "keystore_id");
}

TEST_F(BackupFileTest, FormatOneFilesStillDecryptWithoutKeystoreFields) {
  BackupHeader header;
  header.format_version = 1;
  header.keystore_id = "00112233445566778899aabbccddeeff";  // not in format 1: dropped
  std::string file = Encrypt(kChunkBytes + 5, header);

  auto decrypted = Decrypt(file);

  ASSERT_OK(decrypted);
  EXPECT_EQ(decrypted->format_version, 1);
  EXPECT_EQ(decrypted->keystore_id, "");
  EXPECT_EQ(decrypted->keystore_epoch, std::nullopt);
  EXPECT_EQ(ReadAll(work_.File("out")), plaintext_);
  EXPECT_EQ(std::filesystem::file_size(file), 144 + 24 + (kChunkBytes + 17) + (5 + 17));
}

TEST_F(BackupFileTest, OlderAndUnknownFormatVersionsAreRefusedByName) {
  std::string file = Encrypt(100);
  std::string original = ReadAll(file);
  for (uint16_t version : {uint16_t{0}, uint16_t{3}, uint16_t{0xffff}}) {
    std::string bytes = original;
    bytes[8] = static_cast<char>(version & 0xff);
    bytes[9] = static_cast<char>(version >> 8);
    WriteAllText(file, bytes);

    auto result = Decrypt(file);

    EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
    if (!result) {
      EXPECT_NE(result.error().message().find("unsupported format version " + std::to_string(version)),
                std::string::npos);
    }
  }
}

TEST_F(BackupFileTest, BadMagicIsRefusedByName) {
  WriteAllText(work_.File("not-a-backup"), "SQLite format 3\0 and more bytes to fill a header");

  auto result = Decrypt(work_.File("not-a-backup"));

  EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  EXPECT_NE(result.error().message().find("bad magic"), std::string::npos);
}

}  // namespace
}  // namespace panorama::backup
