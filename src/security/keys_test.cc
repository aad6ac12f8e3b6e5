#include "security/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "security/crypto_util.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"

namespace panorama::security {
namespace {

// base64 of the 32 bytes 1..32.
constexpr const char* kKeyB64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
  testing::TempDir dir_;
};

TEST_F(MasterKeyTest, LoadsEveryVersionOfAnOwnerOnlyKeyFile) {
  std::string path = dir_.File("master.key");
  WriteFile(path, std::string("# comment\npanorama-master-key v1 ") + kKeyB64 + "\npanorama-master-key v2 " + kKeyB64 + "\n", 0600);

  auto ring = LoadMasterKeys({.file = path});

  ASSERT_OK(ring);
  EXPECT_EQ(ring->CurrentVersion(), 2);
  EXPECT_TRUE(ring->Has(1));
  EXPECT_EQ(ring->Get(1)->data()[0], 1);
  EXPECT_EQ(ring->Get(1)->data()[31], 32);
}

TEST_F(MasterKeyTest, RefusesAKeyFileOthersCanRead) {
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    std::string path = dir_.File("open.key");
    WriteFile(path, std::string("panorama-master-key v1 ") + kKeyB64 + "\n", mode);

    auto ring = LoadMasterKeys({.file = path});

    EXPECT_FIELD_ERROR(ring, "master_key_file");
    EXPECT_NE(ring.error().message().find("owner-only"), std::string::npos) << ring.error().message();
  }
}

TEST_F(MasterKeyTest, RejectsMalformedKeyFilesNamingTheField) {
  const std::string cases[] = {
      "",                                                      // no key
      "panorama-master-key v1 c2hvcnQ=\n",                     // 5 bytes
      "panorama-master-key v1 not*base64*at*all\n",            // not base64
      std::string("panorama-master-key 1 ") + kKeyB64 + "\n",  // no v
      std::string("panorama-master-key v0 ") + kKeyB64 + "\n",  // version 0
      std::string("master v1 ") + kKeyB64 + "\n",               // wrong tag
      std::string("panorama-master-key v1 ") + kKeyB64 + "\npanorama-master-key v1 " + kKeyB64 + "\n",  // twice
  };
  for (const auto& text : cases) {
    std::string path = dir_.File("bad.key");
    WriteFile(path, text, 0600);

    auto ring = LoadMasterKeys({.file = path});

    EXPECT_FIELD_ERROR(ring, "master_key_file");
    EXPECT_EQ(ring.error().message().find(kKeyB64), std::string::npos) << "the key must never be echoed";
  }
}

TEST_F(MasterKeyTest, ReadsTheEnvironmentFormats) {
  auto plain = ParseMasterKeyEnv(kKeyB64);
  auto versioned = ParseMasterKeyEnv(std::string("v3:") + kKeyB64 + ",v4:" + kKeyB64);

  ASSERT_OK(plain);
  EXPECT_EQ(plain->CurrentVersion(), 1);
  ASSERT_OK(versioned);
  EXPECT_EQ(versioned->CurrentVersion(), 4);
  EXPECT_FIELD_ERROR(ParseMasterKeyEnv("c2hvcnQ="), "PANORAMA_MASTER_KEY");
}

TEST_F(MasterKeyTest, NoSourceIsAFailedPreconditionThatSaysWhatToDo) {
  auto ring = LoadMasterKeys({});

  EXPECT_ERROR_CODE(ring, ErrorCode::kFailedPrecondition);
  EXPECT_NE(ring.error().message().find("--insecure-dev"), std::string::npos);
}

TEST_F(MasterKeyTest, ReadsTheKeyFromACommand) {
  auto ring = LoadMasterKeys({.command = std::string("echo 'panorama-master-key v7 ") + kKeyB64 + "'"});
  auto failing = LoadMasterKeys({.command = "exit 3"});

  ASSERT_OK(ring);
  EXPECT_EQ(ring->CurrentVersion(), 7);
  EXPECT_FIELD_ERROR(failing, "master_key_command");
}

TEST_F(MasterKeyTest, WrittenKeyFileIsOwnerOnlyRoundTripsAndIsNeverOverwritten) {
  MasterKeyRing ring;
  ring.Add(1, RandomKey());
  std::string path = dir_.File("new.key");

  ASSERT_OK(WriteMasterKeyFile(path, ring, /*replace=*/false));
  auto again = WriteMasterKeyFile(path, ring, /*replace=*/false);
  auto loaded = LoadMasterKeys({.file = path});

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_ERROR_CODE(again, ErrorCode::kAlreadyExists);
  ASSERT_OK(loaded);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(loaded->Get(1)->data()), 32),
            std::string(reinterpret_cast<const char*>(ring.Get(1)->data()), 32));
}

TEST_F(MasterKeyTest, DerivedKeysDependOnContextAndId) {
  MasterKeyRing ring;
  ring.Add(1, RandomKey());
  const SecretBytes& mk = *ring.Get(1);

  SecretBytes kek = DeriveKek(mk);
  SecretBytes psk1 = DerivePseudonymKey(mk, 1);
  SecretBytes psk2 = DerivePseudonymKey(mk, 2);
  SecretBytes kek_again = DeriveKek(mk);

  auto str = [](const SecretBytes& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); };
  EXPECT_EQ(str(kek), str(kek_again));
  EXPECT_NE(str(kek), str(psk1));
  EXPECT_NE(str(psk1), str(psk2));
  EXPECT_NE(str(kek), str(mk));
}

}  // namespace
}  // namespace panorama::security
