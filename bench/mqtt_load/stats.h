// Delivery accounting for the load generator: per (subscriber, publisher) sequence tracking that
// finds lost, duplicated and reordered messages, and a fixed-bucket latency histogram.
// Thread-safety: none; each object belongs to the single event-loop thread.
// Invariants: SeqTracker::next is one past the highest sequence number received; every sequence
// number below `next` is either received or inside exactly one recorded gap; gaps are disjoint and
// ordered. LatencyHistogram never allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace imet::bench::mqtt_load {

// Messages of one publisher as seen by one subscriber. The broker delivers a publisher's messages
// in order (MQTT 3.1.1 section 4.6), so a jump forward is a loss (recorded as a gap) and a step
// back is a duplicate or a late message (which fills its gap, when it was one).
class SeqTracker {
 public:
  // Records a received sequence number.
  void on_message(uint64_t seq) {
    if (seq == next_) {
      ++next_;
      ++unique_;
      return;
    }
    if (seq > next_) {
      gaps_.emplace_back(next_, seq);  // only on loss: allocation is fine here
      next_ = seq + 1;
      ++unique_;
      return;
    }
    fill_late(seq);
  }

  // True if seq was received (seq below next and in no gap).
  bool received(uint64_t seq) const;

  // Number of sequence numbers in [0, end) never received.
  uint64_t missing_below(uint64_t end) const;

  uint64_t next() const { return next_; }
  uint64_t unique() const { return unique_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t reordered() const { return reordered_; }

 private:
  void fill_late(uint64_t seq);

  uint64_t next_ = 0;
  uint64_t unique_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t reordered_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> gaps_;  // [first missing, end)
};

// Latencies in 100 ns buckets up to 100 ms, then 100 us buckets up to 10 s; slower ones are counted
// in an overflow bucket (the maximum is kept exactly).
class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(uint64_t ns) {
    ++count_;
    if (ns > max_ns_) max_ns_ = ns;
    ++buckets_[bucket_of(ns)];
  }
  uint64_t count() const { return count_; }
  uint64_t max_ns() const { return max_ns_; }
  // The q-quantile (0 < q <= 1) in nanoseconds: upper edge of the bucket holding it.
  uint64_t quantile_ns(double q) const;

 private:
  static constexpr uint64_t kFineNs = 100;
  static constexpr uint64_t kFineEnd = 100'000'000;  // 100 ms
  static constexpr uint64_t kCoarseNs = 100'000;
  static constexpr uint64_t kCoarseEnd = 10'000'000'000;  // 10 s
  static constexpr size_t kFine = kFineEnd / kFineNs;
  static constexpr size_t kCoarse = (kCoarseEnd - kFineEnd) / kCoarseNs;
  static size_t bucket_of(uint64_t ns) {
    if (ns < kFineEnd) return ns / kFineNs;
    if (ns < kCoarseEnd) return kFine + (ns - kFineEnd) / kCoarseNs;
    return kFine + kCoarse;  // overflow
  }
  static uint64_t upper_edge(size_t b) {
    if (b < kFine) return (b + 1) * kFineNs;
    return kFineEnd + (b - kFine + 1) * kCoarseNs;
  }
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_ns_ = 0;
};

}  // namespace imet::bench::mqtt_load
