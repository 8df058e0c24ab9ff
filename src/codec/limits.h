// Resource limits of the canonical codec: the total size of one encoded object and how deeply its
// compound values may nest. Per-field caps (lengths, element counts) are not here: they are given
// at each call site in the type's serde() body, where the field is described.
// Thread-safety: plain constants and a value type.
// Invariants: 0 < kDefaultMaxDepth <= kMaxDepthLimit; depths above kMaxDepthLimit are clamped.
#pragma once

#include <cstddef>

namespace imet::codec {

// Largest input decode() accepts by default: 4 MiB, above any single consensus object.
inline constexpr size_t kDefaultMaxSize = size_t{4} << 20;
// Default cap on nesting: object(), vector(), sorted_set() and a present optional() each add one
// level. Consensus types use well under 16; the cap exists for recursive types (trees).
inline constexpr size_t kDefaultMaxDepth = 32;
// Hard upper bound on any configured depth (the field-path stack is a fixed array of this size).
inline constexpr size_t kMaxDepthLimit = 64;

struct Limits {
  size_t max_size = kDefaultMaxSize;    // whole encoding, in bytes
  size_t max_depth = kDefaultMaxDepth;  // nesting levels below the top-level object
};

}  // namespace imet::codec
