// The seed corpus of the fuzz target (fuzz/corpus/mqtt_codec/) as interop data: packets captured
// from mosquitto 2.0 clients and broker (mosquitto_pub/mosquitto_sub, MQTT 3.1.1 and 5.0) and
// hand-built ones. File names say the version ("-v311-", "-v5-") and whether the packet must be
// rejected ("-rejected"). Every other file must decode, and re-encode to a packet that decodes to
// the same value.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt {
namespace {

util::Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return util::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(MqttCorpus, RealAndHandBuiltPacketsDecode) {
  const std::filesystem::path dir =
      std::filesystem::path(IMET_SOURCE_DIR) / "fuzz/corpus/mqtt_codec";
  size_t files = 0;
  size_t from_mosquitto = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool v5 = name.find("-v5") != std::string::npos;
    const bool v311 = name.find("-v311") != std::string::npos;
    DecodeOptions o;
    o.version = v5 ? Version::kV5 : Version::kV311;
    const util::Bytes bytes = read_file(entry.path());
    ++files;
    if (name.find("mosquitto") != std::string::npos) ++from_mosquitto;
    if (name.find("rejected") != std::string::npos) {
      EXPECT_FALSE(decode_packet(bytes, o).ok()) << name;
      continue;
    }
    for (const Version v : {Version::kV311, Version::kV5}) {
      if ((v5 && v != Version::kV5) || (v311 && v != Version::kV311)) continue;
      o.version = v;
      auto d = decode_packet(bytes, o);
      if (!d.ok()) {
        ADD_FAILURE() << name << ": " << d.message();
        continue;
      }
      auto again = encode_to_bytes(*d, v);
      ASSERT_TRUE(again.ok()) << name << ": " << again.status().to_string();
      auto d2 = decode_packet(*again, o);
      ASSERT_TRUE(d2.ok()) << name << ": " << d2.message();
      EXPECT_EQ(*d2, *d) << name;
      EXPECT_LE(again->size(), bytes.size()) << name;
    }
  }
  EXPECT_GE(files, 60u);
  EXPECT_GE(from_mosquitto, 40u);
}

}  // namespace
}  // namespace imet::mqtt
