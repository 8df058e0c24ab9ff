// MessageLog's internal helpers (message_log_io.h): POSIX write/sync wrappers and the segment scan.
#include "store/msglog/message_log_io.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace imet::store::msglog::detail {

std::string errno_text(int err) {
  return std::strerror(err);
}

util::Status pwrite_all(int fd, const uint8_t* data, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return util::io_error(errno_text(errno));
    }
    done += static_cast<size_t>(w);
  }
  return {};
}

util::Status fsync_dir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return util::io_error("cannot open directory '" + dir + "': " + errno_text(errno));
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return util::io_error("cannot fsync directory '" + dir + "': " + errno_text(err));
  return {};
}

util::Status scan_file(const std::string& path, uint64_t expected_first_seq,
                       std::optional<uint64_t> limit, ScanState* out) {
  IMET_ASSIGN_OR_RETURN(SegmentReader reader, SegmentReader::open(path));
  out->file_size = reader.file_size();
  IMET_ASSIGN_OR_RETURN(const uint64_t first, reader.read_header());
  if (first != expected_first_seq) {
    return util::corruption("message log segment '" + path + "' header says it starts at seq " +
                            std::to_string(first) + " but its name says " +
                            std::to_string(expected_first_seq));
  }
  out->first_seq = first;
  if (limit) reader.seek(kSegmentHeaderBytes, first, limit);
  Frame frame;
  for (;;) {
    if (out->frontier.count() % kBlockLeaves == 0) out->partial_block_offset = reader.offset();
    std::string why;
    const SegmentReader::Next next = reader.next(&frame, &why);
    if (next == SegmentReader::Next::kEnd) break;
    if (next == SegmentReader::Next::kBad) {
      out->stop_reason = why;
      break;
    }
    crypto::Hash256 block_root;
    if (out->frontier.push(frame.leaf, &block_root)) {
      out->blocks.push_back({out->partial_block_offset, block_root});
    }
    if (out->count == 0) out->first_ts = frame.timestamp_ms;
    out->last_ts = frame.timestamp_ms;
    ++out->count;
    out->valid_bytes = reader.offset();
  }
  return {};
}

}  // namespace imet::store::msglog::detail
