#include "http/static_files.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace panorama::http {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("panorama_static_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "www" / "assets");
    std::ofstream(root_ / "www" / "index.html") << "index";
    std::ofstream(root_ / "www" / "assets" / "app.abc123.css") << "body{}";
    std::ofstream(root_ / "outside.txt") << "secret";
    auto files = StaticFiles::Open((root_ / "www").string());
    ASSERT_TRUE(files.has_value());
    files_.emplace(std::move(files).value());
  }
  void TearDown() override { fs::remove_all(root_); }

  Response Get(std::string path) {
    Request request;
    request.path = std::move(path);
    return files_->Serve(request);
  }

  fs::path root_;
  std::optional<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesAssetAsImmutableWithContentType) {
  Response response = Get("/assets/app.abc123.css");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "body{}");
  EXPECT_EQ(response.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(response.headers.at(0).second, "public, max-age=31536000, immutable");
}

TEST_F(StaticFilesTest, ClientRouteGetsIndex) {
  Response response = Get("/segments/12");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "index");
  EXPECT_EQ(response.headers.at(0).second, "no-cache");
}

TEST_F(StaticFilesTest, MissingFileWithExtensionIsNotFound) {
  EXPECT_EQ(Get("/assets/nope.js").status, 404);
}

TEST_F(StaticFilesTest, TraversalIsRefusedWithoutReading) {
  for (const char* path : {"/../outside.txt", "/assets/../../outside.txt", "/./index.html",
                           "/..", "/a\\..\\outside.txt", "/x/../index.html"}) {
    Response response = Get(path);

    EXPECT_EQ(response.status, 400) << path;
    EXPECT_EQ(response.body.find("secret"), std::string::npos) << path;
  }
}

TEST_F(StaticFilesTest, NulByteIsRefused) {
  EXPECT_EQ(Get(std::string("/index.html\0.txt", 16)).status, 400);
}

TEST_F(StaticFilesTest, OpenRejectsMissingDirectory) {
  auto files = StaticFiles::Open((root_ / "absent").string());

  ASSERT_FALSE(files.has_value());
  EXPECT_EQ(files.error().code(), ErrorCode::kNotFound);
}

TEST(StaticFilesContentType, KnowsTheConsoleTypes) {
  EXPECT_STREQ(StaticFiles::ContentTypeFor("a.js"), "text/javascript; charset=utf-8");
  EXPECT_STREQ(StaticFiles::ContentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_STREQ(StaticFiles::ContentTypeFor("a.woff2"), "font/woff2");
  EXPECT_STREQ(StaticFiles::ContentTypeFor("a.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace panorama::http
