// Logging: spdlog underneath, one process-wide logger, levels, and structured key=value fields
// (logfmt style: `msg key=value key="value with spaces"`), so logs are both readable and greppable.
// Thread-safety: all functions may be called from any thread (spdlog's _mt sinks); init() should
// run once at start-up before other threads log.
// Invariants: a field value containing spaces, quotes, '=' or control characters is quoted and
// escaped, so each line parses back into the same fields.
#pragma once

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "util/result.h"

namespace imet::util::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

Result<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

struct Field {
  std::string key;
  std::string value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename T>
  requires std::integral<T> || std::floating_point<T> Field(std::string_view k, T v)
      : key(k), value(std::to_string(v)) {}
};

struct Options {
  Level level = Level::kInfo;
  std::string file;  // also append to this file when non-empty
};

// (Re)configures the process logger: stderr plus an optional file.
Status init(const Options& options);
void set_level(Level level);
Level level();

// Formats "msg k1=v1 k2=v2" with quoting as described above.
std::string format(std::string_view msg, std::initializer_list<Field> fields);

void write(Level level, std::string_view msg, std::initializer_list<Field> fields);

inline void trace(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kTrace, m, f);
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kError, m, f);
}

}  // namespace imet::util::log
