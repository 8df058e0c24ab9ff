#include "codec/reader.h"

#include "codec/utf8.h"
#include "codec/varint.h"

namespace imet::codec {

util::Status Reader::finish() {
  if (ctx_.ok() && remaining() != 0) {
    const size_t n = remaining();
    ctx_.fail(pos_,
              std::to_string(n) + (n == 1 ? " trailing byte" : " trailing bytes") +
                  " after the end of the object",
              "");
  }
  return ctx_.status();
}

bool Reader::get_varint(uint64_t& v, const char* name) {
  if (!ctx_.ok()) return false;
  const VarintParse r = parse_varint(in_.subspan(pos_));
  if (r.error != VarintError::kNone) {
    ctx_.fail(pos_, varint_error_text(r.error), name);
    return false;
  }
  pos_ += r.size;
  v = r.value;
  return true;
}

bool Reader::get_length(size_t& n, size_t cap, bool count, const char* name) {
  const size_t start = pos_;
  uint64_t raw = 0;
  if (!get_varint(raw, name)) return false;
  if (raw > cap) {
    if (count) {
      ctx_.fail_count_cap(start, raw, cap, name);
    } else {
      ctx_.fail_length_cap(start, raw, cap, name);
    }
    return false;
  }
  n = static_cast<size_t>(raw);
  return true;
}

void Reader::bytes(util::Bytes& v, size_t cap, const char* name) {
  size_t n = 0;
  const uint8_t* p = nullptr;
  if (!get_length(n, cap, /*count=*/false, name) || !take(n, p, name)) return;
  v.assign(p, p + n);
}

void Reader::string(std::string& v, size_t cap, const char* name) {
  size_t n = 0;
  const uint8_t* p = nullptr;
  if (!get_length(n, cap, /*count=*/false, name)) return;
  const size_t start = pos_;
  if (!take(n, p, name)) return;
  if (auto err = find_utf8_error(util::ByteSpan(p, n))) {
    return ctx_.fail_utf8(start + err->index, err->reason, name);
  }
  v.assign(reinterpret_cast<const char*>(p), n);
}

}  // namespace imet::codec
