#include "ingest/csv.h"

#include <gtest/gtest.h>
#include <iconv.h>

#include <string>
#include <string_view>
#include <vector>

namespace panorama::ingest {
namespace {

using Fields = std::vector<std::string>;

// Encodes a UTF-8 literal as GBK with glibc iconv, so the fixture is readable in the test source.
std::string ToGbk(std::string_view utf8) {
  iconv_t cd = iconv_open("GBK", "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(utf8.size() * 2 + 8, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* dst = out.data();
  size_t out_left = out.size();
  EXPECT_NE(iconv(cd, &in, &in_left, &dst, &out_left), static_cast<size_t>(-1));
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

CsvTable MustRead(std::string_view bytes, const CsvReadOptions& options = {}) {
  auto table = ReadCsv(bytes, options);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error().message());
  return table ? std::move(table).value() : CsvTable{};
}

TEST(ReadCsv, ParsesQuotedFieldsDoubledQuotesAndEmbeddedNewlines) {
  CsvTable table = MustRead(
      "id,note\r\n1,\"a, b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"two\nlines\"\r\n4,5\" screen\r\n");

  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.header, (Fields{"id", "note"}));
  EXPECT_EQ(table.rows[0].fields, (Fields{"1", "a, b"}));
  EXPECT_EQ(table.rows[1].fields, (Fields{"2", "say \"hi\""}));
  EXPECT_EQ(table.rows[2].fields, (Fields{"3", "two\nlines"}));
  EXPECT_EQ(table.rows[3].fields, (Fields{"4", "5\" screen"}));
}

TEST(ReadCsv, ReportsPhysicalLineWhereEachRecordStarts) {
  CsvTable table = MustRead("h1,h2\n\"a\nb\nc\",x\n\nlast,y");

  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.header_line, 1);
  EXPECT_EQ(table.rows[0].line, 2);
  EXPECT_EQ(table.rows[1].line, 6);
  EXPECT_EQ(table.rows[1].fields, (Fields{"last", "y"}));
}

TEST(ReadCsv, SkipsTrailingAndInnerBlankLinesButKeepsEmptyFields) {
  CsvTable table = MustRead("a,b\n1,\n\n,\n\"\"\n\r\n\r\n");

  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"1", ""}));
  EXPECT_EQ(table.rows[1].fields, (Fields{"", ""}));
  EXPECT_EQ(table.rows[1].line, 4);
  EXPECT_EQ(table.rows[2].fields, (Fields{""}));
}

TEST(ReadCsv, KeepsTrailingEmptyFieldAtEndOfBuffer) {
  CsvTable table = MustRead("a,b,c\n1,2,");

  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"1", "2", ""}));
}

TEST(ReadCsv, StripsUtf8BomAndTrimsHeaderNames) {
  CsvTable table = MustRead("\xEF\xBB\xBF姓名 , 邮箱\n王小明,wang@example.com\n");

  EXPECT_EQ(table.detected_encoding, "UTF-8");
  EXPECT_EQ(table.header, (Fields{"姓名", "邮箱"}));
  EXPECT_EQ(table.rows[0].fields[0], "王小明");
}

TEST(ReadCsv, ReadsSemicolonAndTabDelimitedFiles) {
  CsvTable semi = MustRead("a;b\n1;\"x;y\"\n", {.delimiter = ';'});
  CsvTable tab = MustRead("a\tb\n1\t2\n", {.delimiter = '\t'});

  EXPECT_EQ(semi.rows[0].fields, (Fields{"1", "x;y"}));
  EXPECT_EQ(tab.rows[0].fields, (Fields{"1", "2"}));
}

TEST(ReadCsv, WithoutHeaderAllRecordsAreRows) {
  CsvTable table = MustRead("1,2\n3,4\n", {.has_header = false});

  EXPECT_TRUE(table.header.empty());
  EXPECT_EQ(table.header_line, 0);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].line, 1);
}

TEST(ReadCsv, EmptyFileIsEmptyTable) {
  CsvTable table = MustRead("");

  EXPECT_TRUE(table.header.empty());
  EXPECT_TRUE(table.rows.empty());
}

TEST(ReadCsv, DetectsAndConvertsGbk) {
  std::string gbk = ToGbk("姓名,城市\n王小明,北京\n李雷,上海\n");
  ASSERT_NE(gbk, "姓名,城市\n王小明,北京\n李雷,上海\n");  // really converted

  CsvTable table = MustRead(gbk);

  EXPECT_EQ(table.detected_encoding, "GBK");
  EXPECT_EQ(table.header, (Fields{"姓名", "城市"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"王小明", "北京"}));
  EXPECT_EQ(table.rows[1].fields, (Fields{"李雷", "上海"}));
}

TEST(ReadCsv, RejectsMalformedInputNamingTheLine) {
  struct Case {
    std::string_view name;
    std::string input;
    CsvReadOptions options;
    ErrorCode code;
    std::string_view message_part;
  };
  const Case cases[] = {
      {"unclosed quote",
       "a,b\n1,2\n3,\"open\nstill open\n",
       {},
       ErrorCode::kInvalidArgument,
       "line 3: quoted field is not closed"},
      {"text after quote",
       "a,b\n\"x\"y,2\n",
       {},
       ErrorCode::kInvalidArgument,
       "line 2: unexpected text after a closing quote"},
      {"too many fields",
       "a,b\n1,2,3,4\n",
       {.max_fields_per_record = 3},
       ErrorCode::kResourceExhausted,
       "line 2: record has more than 3 fields"},
      {"long unquoted field",
       "a\n" + std::string(20, 'x') + "\n",
       {.max_field_bytes = 10},
       ErrorCode::kResourceExhausted,
       "line 2: field is longer than 10 bytes"},
      {"long quoted field",
       "a\n\n\"" + std::string(20, 'x') + "\"\n",
       {.max_field_bytes = 10},
       ErrorCode::kResourceExhausted,
       "line 3: field is longer than 10 bytes"},
      {"too many records",
       "a\n1\n2\n3\n",
       {.max_records = 2},
       ErrorCode::kResourceExhausted,
       "line 4: file has more than 2 records"},
      {"neither utf8 nor gbk",
       "a,b\n\x80\xFF,1\n",
       {},
       ErrorCode::kInvalidArgument,
       "file is neither UTF-8 nor GBK"},
      {"utf16",
       "\xFF\xFE"
       "a\0,\0",
       {},
       ErrorCode::kInvalidArgument,
       "UTF-16"},
      {"nul byte", std::string("a,b\n1,\0\n", 7), {}, ErrorCode::kInvalidArgument, "NUL"},
      {"truncated gbk",
       ToGbk("姓名\n王").substr(0, 6),
       {},
       ErrorCode::kInvalidArgument,
       "neither UTF-8 nor GBK"},
  };
  for (const auto& c : cases) {
    auto table = ReadCsv(c.input, c.options);
    ASSERT_FALSE(table.has_value()) << c.name;
    EXPECT_EQ(table.error().code(), c.code) << c.name;
    EXPECT_NE(table.error().message().find(c.message_part), std::string::npos)
        << c.name << ": " << table.error().message();
  }
}

TEST(EscapeCsvCell, NeutralizesFormulasButNotNumbers) {
  struct Case {
    std::string_view cell;
    std::string_view expected;
  };
  const Case cases[] = {
      {"=1+2", "'=1+2"},
      {"+SUM(A1)", "'+SUM(A1)"},
      {"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
      {"@SUM(1)", "'@SUM(1)"},
      {"\tX", "'\tX"},
      {"\r=1", "\"'\r=1\""},
      {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
      {"-12.50", "-12.50"},
      {"+86", "+86"},
      {"-", "'-"},
      {"-.5", "'-.5"},
      {"plain", "plain"},
      {"a,b", "\"a,b\""},
      {"two\nlines", "\"two\nlines\""},
      {"", ""},
      {"王小明", "王小明"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EscapeCsvCell(c.cell), c.expected) << c.cell;
  }
}

TEST(EscapeCsvCell, LeavesFormulasAloneWhenAskedTo) {
  EXPECT_EQ(EscapeCsvCell("=1+2", ',', false), "=1+2");
}

TEST(CsvWriter, WritesBomAndCrlfAndRoundTripsThroughReader) {
  CsvWriter writer({.utf8_bom = true});
  writer.WriteRow({"name", "note"});
  writer.WriteRow({"王小明", "say \"hi\", ok"});
  writer.WriteRow({"=cmd", "line1\nline2"});

  std::string doc = writer.Take();

  EXPECT_TRUE(doc.starts_with("\xEF\xBB\xBFname,note\r\n"));
  CsvTable table = MustRead(doc);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"王小明", "say \"hi\", ok"}));
  EXPECT_EQ(table.rows[1].fields, (Fields{"'=cmd", "line1\nline2"}));
  EXPECT_TRUE(writer.buffer().empty());
}

}  // namespace
}  // namespace panorama::ingest
