#include "audit/merkle.h"

#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"

namespace panorama::audit {
namespace {

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The Certificate Transparency reference leaves and tree heads (RFC 6962 / RFC 9162 test vectors, as used by
// certificate-transparency-go's merkle tests): root of the first n leaves for n = 0..8.
TEST(MerkleRoot, MatchesTheCertificateTransparencyVectors) {
  const std::vector<std::string> leaves = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                           "606162636465666768696a6b6c6d6e6f"};
  const char* roots[] = {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (size_t n = 0; n <= leaves.size(); ++n) {
    std::vector<std::string> data;
    for (size_t i = 0; i < n; ++i) data.push_back(Unhex(leaves[i]));

    EXPECT_EQ(ToHex(MerkleRoot(data)), roots[n]) << "size " << n;
  }
}

TEST(MerkleRoot, OfHashesEqualsRootOfTheirBytes) {
  std::vector<Hash> hashes = {Sha256("a"), Sha256("b"), Sha256("c")};
  std::vector<std::string> bytes;
  for (const auto& h : hashes) bytes.emplace_back(h.begin(), h.end());

  EXPECT_EQ(MerkleRootOfHashes(hashes), MerkleRoot(bytes));
}

class LedgerSignerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  testing::TempDir dir_;
};

TEST_F(LedgerSignerTest, CreatesAnOwnerOnlyKeyFileOnceAndReloadsIt) {
  std::string path = dir_.File("ledger-signing.key");

  auto first = LedgerSigner::LoadOrCreate(path);
  auto second = LedgerSigner::LoadOrCreate(path);

  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(first->PublicKeyHex(), second->PublicKeyHex());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(LedgerSignerTest, SignaturesVerifyOnlyForTheSameMessageAndKey) {
  auto signer = LedgerSigner::LoadOrCreate(dir_.File("a.key"));
  auto other = LedgerSigner::LoadOrCreate(dir_.File("b.key"));
  ASSERT_OK(signer);
  ASSERT_OK(other);
  std::string message = CheckpointMessage(0, 10, std::string(64, 'a'), std::string(64, 'b'), 123);

  std::string sig = signer->SignHex(message);

  EXPECT_TRUE(VerifySignature(signer->PublicKeyHex(), message, sig));
  EXPECT_FALSE(VerifySignature(other->PublicKeyHex(), message, sig));
  EXPECT_FALSE(VerifySignature(signer->PublicKeyHex(), message + "x", sig));
  EXPECT_FALSE(VerifySignature(signer->PublicKeyHex(), message, "zz"));
}

TEST_F(LedgerSignerTest, RejectsAMalformedKeyFile) {
  std::string path = dir_.File("bad.key");
  std::ofstream(path) << "not a key\n";

  EXPECT_FIELD_ERROR(LedgerSigner::LoadOrCreate(path), "signing key");
}

}  // namespace
}  // namespace panorama::audit
