// libFuzzer target for the message log's parsers of on-disk data (store/msglog/). The first input
// byte picks what the rest is:
//   0: a record body: decode_body must not crash; an accepted body re-encodes to the same bytes.
//   1: a sealed-segment index: decode_index must not crash; an accepted index re-encodes exactly.
//   2: the frames of an open segment (after a valid header): MessageLog::open recovers (truncating
//      whatever is not a valid frame), and then every recovered record reads back, proves and
//      verifies against the segment root, and the log accepts a new record.
//   3: a directory with a sealed segment whose data is the rest of the input and whose index is a
//      valid-looking one for it: open, read, prove and verify_segment must not crash.
// Files go to one temporary directory per process, emptied before each input.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>

#include "store/msglog/message_log.h"
#include "store/msglog/record.h"
#include "store/msglog/segment_format.h"
#include "util/log.h"

namespace {

namespace fs = std::filesystem;
namespace ml = imet::store::msglog;

const std::string& scratch_dir() {
  // Never destroyed: the exit handler below still needs it after static destructors ran.
  static const std::string* dir = [] {
    std::string pattern = (fs::temp_directory_path() / "imet-fuzz-msglog-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    imet::util::log::set_level(imet::util::log::Level::kOff);
    return new std::string(pattern);
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(*dir, ignored);
    });
    return true;
  }();
  (void)cleanup_registered;
  return *dir;
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void fuzz_body(const uint8_t* data, size_t size) {
  auto r = ml::decode_body({data, size});
  if (!r.ok()) return;
  const imet::util::Bytes again = ml::encode_body(ml::RecordView::of(*r));
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
}

void fuzz_index(const uint8_t* data, size_t size) {
  auto idx = ml::decode_index({data, size}, "fuzz.idx");
  if (!idx.ok()) return;
  const std::string again = ml::encode_index(*idx);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
}

void fuzz_open_segment(const uint8_t* data, size_t size) {
  const std::string dir = scratch_dir() + "/open";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto header = ml::encode_segment_header(1);
  {
    std::ofstream out(dir + "/" + ml::segment_file_name(1), std::ios::binary);
    out.write(reinterpret_cast<const char*>(header.data()), header.size());
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ml::Options o;
  o.segment_max_age = std::chrono::milliseconds(0);
  auto log = ml::MessageLog::open(dir, o);
  if (!log.ok()) std::abort();  // a damaged tail is repaired, never fatal
  const uint64_t end = (*log)->next_seq();
  if (!(*log)->verify_segment(1).ok()) std::abort();
  for (uint64_t seq = 1; seq < end && seq < 64; ++seq) {
    auto rec = (*log)->read(seq);
    if (!rec.ok() || rec->seq != seq) std::abort();
    auto proof = (*log)->prove(seq);
    if (!proof.ok()) std::abort();
    if (!ml::verify_record(*rec, proof->segment, proof->proof).ok()) std::abort();
  }
  ml::Record r;
  r.topic = "t";
  auto seq = (*log)->append(r);
  if (!seq.ok() || *seq != end) std::abort();
}

void fuzz_sealed_segment(const uint8_t* data, size_t size) {
  const std::string dir = scratch_dir() + "/sealed";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto header = ml::encode_segment_header(1);
  {
    std::ofstream out(dir + "/" + ml::segment_file_name(1), std::ios::binary);
    out.write(reinterpret_cast<const char*>(header.data()), header.size());
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // An index that claims the data holds two records in one block, with a root over nothing
  // checked: whatever the data is, the log must report problems, not crash.
  ml::SealedIndex idx;
  idx.first_seq = 1;
  idx.count = 2;
  idx.bytes = ml::kSegmentHeaderBytes + size;
  idx.blocks.push_back({ml::kSegmentHeaderBytes, imet::crypto::Hash256{}});
  idx.root = idx.blocks[0].root;
  const std::string enc = ml::encode_index(idx);
  write_file(dir + "/" + ml::index_file_name(1), reinterpret_cast<const uint8_t*>(enc.data()),
             enc.size());
  auto log = ml::MessageLog::open(dir, ml::Options{});
  if (!log.ok()) return;
  (void)(*log)->verify_segment(1);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    (void)(*log)->read(seq);
    (void)(*log)->prove(seq);
  }
  (void)(*log)->segments();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 4;
  ++data;
  --size;
  switch (mode) {
    case 0:
      fuzz_body(data, size);
      break;
    case 1:
      fuzz_index(data, size);
      break;
    case 2:
      fuzz_open_segment(data, size);
      break;
    default:
      fuzz_sealed_segment(data, size);
      break;
  }
  return 0;
}
