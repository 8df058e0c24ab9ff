#include "mqtt/topic/matching.h"

#include "mqtt/topic/detail/trie_parts.h"

namespace imet::mqtt {

bool topic_matches(std::string_view filter, std::string_view name) {
  constexpr size_t kEnd = detail::kNoLevel;
  if (!name.empty() && name.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    // First filter level is a wildcard only if the character after it ends the level.
    if (filter.size() == 1 || filter[1] == '/') return false;
  }
  size_t fpos = 0;
  size_t npos = 0;
  while (fpos != kEnd) {
    const std::string_view flevel = detail::split_level(filter, fpos);
    if (flevel == "#") return true;  // matches the rest, including no further levels
    if (npos == kEnd) return false;  // filter has levels left, name does not
    const std::string_view nlevel = detail::split_level(name, npos);
    if (flevel != "+" && flevel != nlevel) return false;
  }
  return npos == kEnd;  // both exhausted together
}

}  // namespace imet::mqtt
