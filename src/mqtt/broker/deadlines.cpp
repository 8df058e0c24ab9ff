// Deadlines implementation: an intrusive list under one mutex, swept by one steady_timer.
#include "mqtt/broker/deadlines.h"

namespace imet::mqtt::broker {

// The periodic timer. Its handler holds the Ticker (not the Deadlines): after stop() a pending
// handler only sees `stopped` and returns. The owner of the Deadlines destroys it only when no
// handler of its io_context can run concurrently (as for MqttServer: after the I/O threads are
// joined, or before they start).
struct Deadlines::Ticker {
  explicit Ticker(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  std::atomic<bool> stopped{false};
};

Deadlines::Deadlines(OnDue on_due, std::chrono::milliseconds interval)
    : on_due_(std::move(on_due)), interval_(interval) {}

Deadlines::~Deadlines() {
  stop();
}

int64_t Deadlines::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Deadlines::start(boost::asio::io_context& io) {
  if (ticker_) return;
  ticker_ = std::make_shared<Ticker>(io);
  struct Tick {
    Deadlines* self;
    std::shared_ptr<Ticker> t;
    void operator()(const boost::system::error_code& ec) const {
      if (ec || t->stopped.load()) return;
      self->sweep();
      t->timer.expires_after(self->interval_);
      t->timer.async_wait(*this);
    }
  };
  ticker_->timer.expires_after(interval_);
  ticker_->timer.async_wait(Tick{this, ticker_});
}

void Deadlines::stop() {
  if (!ticker_) return;
  ticker_->stopped.store(true);
  ticker_->timer.cancel();
  ticker_.reset();
}

void Deadlines::add(Entry& e) {
  std::lock_guard lock(mu_);
  if (e.prev_ != nullptr || head_ == &e) return;
  e.next_ = head_;
  e.prev_ = nullptr;
  if (head_ != nullptr) head_->prev_ = &e;
  head_ = &e;
  ++count_;
}

void Deadlines::remove(Entry& e) {
  std::lock_guard lock(mu_);
  if (e.prev_ == nullptr && head_ != &e) return;  // not in the list
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    head_ = e.next_;
  }
  if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
  e.prev_ = e.next_ = nullptr;
  --count_;
}

void Deadlines::set(Entry& e, std::chrono::milliseconds after) {
  // now_ms() is far from 0 (steady clock since boot), so a set deadline is never 0.
  e.due_ms_.store(after.count() == 0 ? 0 : now_ms() + after.count(), std::memory_order_release);
}

size_t Deadlines::sweep() {
  const int64_t now = now_ms();
  size_t fired = 0;
  std::lock_guard lock(mu_);
  for (Entry* e = head_; e != nullptr; e = e->next_) {
    int64_t due = e->due_ms_.load(std::memory_order_acquire);
    if (due == 0 || due > now) continue;
    // Taken only if unchanged: a deadline re-armed since the load belongs to the next sweep.
    if (!e->due_ms_.compare_exchange_strong(due, 0, std::memory_order_acq_rel)) continue;
    on_due_(*e);
    ++fired;
  }
  return fired;
}

size_t Deadlines::size() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace imet::mqtt::broker
