// The fuzz seed corpus (fuzz/corpus/codec/) was written by an independent encoder (a short Python
// script following the rules in codec/serialize.h). Every seed must decode as a Sample and
// re-encode to the same bytes, which cross-checks this implementation against that one.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "sample_types.h"

namespace imet::codec::testing {
namespace {

TEST(Corpus, SeedsDecodeAndReencodeIdentically) {
  const std::filesystem::path dir = std::filesystem::path(IMET_SOURCE_DIR) / "fuzz/corpus/codec";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(entry.path(), std::ios::binary);
    const util::Bytes b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto r = decode<Sample>(b);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(encode(*r), b);
    ++seeds;
  }
  EXPECT_GE(seeds, 5);
}

}  // namespace
}  // namespace imet::codec::testing
