// Delivery accounting and latency histogram of the load generator (see stats.h).
#include "stats.h"

#include <algorithm>
#include <cmath>

namespace imet::bench::mqtt_load {

bool SeqTracker::received(uint64_t seq) const {
  if (seq >= next_) return false;
  for (const auto& [a, b] : gaps_) {
    if (seq >= a && seq < b) return false;
  }
  return true;
}

uint64_t SeqTracker::missing_below(uint64_t end) const {
  uint64_t missing = 0;
  for (const auto& [a, b] : gaps_) {
    if (a >= end) break;
    missing += std::min(b, end) - a;
  }
  if (end > next_) missing += end - next_;
  return missing;
}

void SeqTracker::fill_late(uint64_t seq) {
  // A late message that fills a gap is a reorder; anything else below next_ is a duplicate.
  for (size_t i = 0; i < gaps_.size(); ++i) {
    auto [a, b] = gaps_[i];
    if (seq < a || seq >= b) continue;
    ++reordered_;
    ++unique_;
    if (b - a == 1) {
      gaps_.erase(gaps_.begin() + static_cast<long>(i));
    } else if (seq == a) {
      gaps_[i].first = a + 1;
    } else if (seq == b - 1) {
      gaps_[i].second = b - 1;
    } else {
      gaps_[i].second = seq;
      gaps_.insert(gaps_.begin() + static_cast<long>(i) + 1, {seq + 1, b});
    }
    return;
  }
  ++duplicates_;
}

LatencyHistogram::LatencyHistogram() : buckets_(kFine + kCoarse + 1, 0) {}

uint64_t LatencyHistogram::quantile_ns(double q) const {
  if (count_ == 0) return 0;
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(upper_edge(b), max_ns_);
  }
  return max_ns_;
}

}  // namespace imet::bench::mqtt_load
