#include "node/admission_limit.h"

#include <algorithm>
#include <cmath>

namespace imet::node {

AdmissionLimit::AdmissionLimit(Options options, uint32_t slot_ms, size_t ceiling)
    : options_(options), slot_ms_(std::max<uint32_t>(slot_ms, 1)), ceiling_(ceiling) {}

void AdmissionLimit::on_final_block(size_t txs, uint64_t time_ms) {
  if (!last_time_ms_) {
    last_time_ms_ = time_ms;
    return;
  }
  const uint64_t dt = time_ms > *last_time_ms_ ? time_ms - *last_time_ms_ : slot_ms_;
  last_time_ms_ = std::max(*last_time_ms_, time_ms);
  const double instant = static_cast<double>(txs) / static_cast<double>(dt);
  const double tau = std::max(options_.horizon_slots, 0.01) * slot_ms_;
  // Time-weighted: a block that took two slots weighs twice as much as a punctual one.
  const double w = 1.0 - std::exp(-static_cast<double>(dt) / tau);
  rate_per_ms_ += w * (instant - rate_per_ms_);
  if (rate_per_ms_ < 0) rate_per_ms_ = 0;
}

size_t AdmissionLimit::limit() const {
  if (options_.slots == 0) return ceiling_;
  const double backlog = rate_per_ms_ * slot_ms_ * options_.slots;
  const double capped = std::min(backlog, static_cast<double>(ceiling_));
  const size_t l = std::max(options_.floor, static_cast<size_t>(capped));
  return std::min(l, ceiling_);
}

uint32_t AdmissionLimit::retry_after_s(size_t pending) const {
  const size_t lim = limit();
  const double excess = pending >= lim ? static_cast<double>(pending - lim + 1) : 1.0;
  double ms = static_cast<double>(slot_ms_);
  if (rate_per_ms_ > 0) ms = std::max(ms, excess / rate_per_ms_);
  const double s = std::ceil(ms / 1000.0);
  return static_cast<uint32_t>(std::clamp(s, 1.0, 60.0));
}

}  // namespace imet::node
