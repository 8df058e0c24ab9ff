#include "util/log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace imet::util::log {
namespace {

TEST(Log, FormatsFieldsWithQuoting) {
  EXPECT_EQ(format("started", {}), "started");
  EXPECT_EQ(format("block", {{"height", 42}, {"final", true}, {"producer", "imet1abc"}}),
            "block height=42 final=true producer=imet1abc");
  EXPECT_EQ(format("x", {{"path", "/a b"}, {"q", "say \"hi\""}, {"e", ""}, {"nl", "a\nb"}}),
            "x path=\"/a b\" q=\"say \\\"hi\\\"\" e=\"\" nl=\"a\\nb\"");
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(parse_level("debug").value(), Level::kDebug);
  EXPECT_EQ(parse_level("warning").value(), Level::kWarn);
  auto bad = parse_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown log level 'loud'"), std::string::npos);
}

TEST(Log, WritesToFileRespectingLevel) {
  auto path =
      std::filesystem::temp_directory_path() / ("imet_log_test_" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  ASSERT_TRUE(init({Level::kInfo, path.string()}).ok());
  debug("hidden", {{"k", 1}});
  info("shown", {{"k", 2}});
  warn("also shown");
  ASSERT_TRUE(init({Level::kInfo, ""}).ok());  // closes the file sink
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("INFO  shown k=2"), std::string::npos) << text;
  EXPECT_NE(text.find("WARN  also shown"), std::string::npos) << text;
  std::filesystem::remove(path);
  EXPECT_FALSE(init({Level::kInfo, "/dev/null/not-a-dir.log"}).ok());
}

}  // namespace
}  // namespace imet::util::log
