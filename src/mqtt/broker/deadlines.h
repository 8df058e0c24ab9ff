// Deadlines: the timeouts of every connection of one MqttServer (connect timeout, keep alive,
// the wait for a closing connection's last packets), checked by one periodic sweep instead of
// one Asio timer per connection. A timer costs a connection 72 bytes and, while armed (always,
// for a client with a keep alive), a pending wait operation of ~150 bytes more; an Entry costs
// 24 bytes. Precision is the sweep interval (100 ms by default), well inside MQTT's 1.5 x keep
// alive and the connect timeout's seconds.
//
// Thread-safety: add/remove/sweep take mu_; set/clear/due are lock-free (an atomic per entry)
// and may be called from any thread. on_due runs on the sweeping thread with mu_ held: it must
// not block and must not call back into Deadlines (post to the owner's strand instead).
// Invariants: an entry is in the list at most once, between add() and remove(); the sweep hands
// a passed deadline to on_due exactly once (it swaps the deadline to 0 first, so an entry re-armed
// meanwhile is not fired with its stale deadline).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace imet::mqtt::broker {

class Deadlines {
 public:
  // What a connection embeds (as a base class): list links and its deadline.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    friend class Deadlines;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    std::atomic<int64_t> due_ms_{0};  // steady clock ms; 0 = no deadline
  };
  using OnDue = std::function<void(Entry&)>;

  explicit Deadlines(OnDue on_due,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~Deadlines();
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // Sweeps every `interval` on `io` until the destructor (or stop()) cancels it.
  void start(boost::asio::io_context& io);
  void stop();

  void add(Entry& e);
  // Idempotent; after it returns, on_due is not running for `e` and will not be called for it.
  void remove(Entry& e);
  // Fires `after` from now (`after` 0: no deadline).
  static void set(Entry& e, std::chrono::milliseconds after);
  // Whether `e` has a deadline pending (false once the sweep took it).
  static bool armed(const Entry& e) { return e.due_ms_.load(std::memory_order_acquire) != 0; }

  // One pass: hands every passed deadline to on_due; returns how many. Tests call it directly.
  size_t sweep();
  size_t size() const;

 private:
  struct Ticker;
  static int64_t now_ms();

  const OnDue on_due_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  Entry* head_ = nullptr;  // mu_
  size_t count_ = 0;       // mu_
  std::shared_ptr<Ticker> ticker_;
};

}  // namespace imet::mqtt::broker
