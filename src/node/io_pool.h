// IoPool: the threads that run the node's io_context, one per core, of which only as many take
// part as the load needs. Asio's scheduler hands the reactor to another waiting thread whenever a
// thread takes a handler, so with two threads in run() every readiness event costs a futex wake-up
// and a second thread's wake-up, even when one thread could do all the work: at 5,000 MQTT
// messages/s that doubled imetd's CPU per message against one thread (docs/benchmarks.md, session
// 12). Here only `active()` threads take handlers; the others are parked where Asio's scheduler
// cannot wake them: before their first run() (at start) or inside a park handler, blocked on the
// pool's condition variable (a thread busy in a handler is not an idle thread to Asio). A governor
// on a timer of the io_context measures the CPU time of the active threads each tick (their thread
// CPU clocks): above `unpark_above` of a core on average, one more thread is let go; when all of
// them together used less than `park_below` of one core for `park_after` ticks in a row, one is
// parked: a park handler is posted, and the thread that runs it parks if its index is not below
// active(); a thread that must stay active posts it again 1 ms later (no spinning).
// Active threads run io_context::run() itself (run_for would set up Asio's per-thread state for
// every handler).
// Thread-safety: start(), stop() and join() from one controlling thread; active() from any thread;
// the governor and park handlers run on the io_context. Invariants: 1 <= active() <= threads();
// parked threads run no handler; a thread whose index is >= active() parks at its next park
// handler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace imet::node {

class IoPool {
 public:
  struct Options {
    unsigned threads = 1;
    bool adaptive = true;  // false: every thread runs the io_context all the time
    std::chrono::milliseconds tick{10};
    // The tick while one thread runs and it was less than `park_below` busy: an idle node then
    // wakes up 10 times a second for the governor, not 100 (measured: 0.7 % of a core at 10 ms).
    std::chrono::milliseconds idle_tick{100};
    double unpark_above = 0.6;  // average busy fraction of the active threads
    double park_below = 0.3;    // busy fraction of all active threads together (of one core)
    int park_after = 20;        // ticks in a row below park_below
  };
  // Called (on the failing thread) when a handler throws; the pool keeps running.
  using OnError = std::function<void(const std::exception&)>;

  IoPool(boost::asio::io_context& io, Options options, OnError on_error);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();
  // Lets parked threads see the stop; call after io_context::stop() (or with the work guard gone).
  void stop();
  void join();
  unsigned threads() const { return options_.threads; }
  unsigned active() const { return active_.load(std::memory_order_relaxed); }
  // Times the governor added or removed a thread.
  uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }

 private:
  void run_thread(unsigned index);
  void arm_governor();
  void govern();
  double cpu_seconds(unsigned index) const;
  // Blocks the calling pool thread while its index is >= active() (and the pool runs).
  void park_here(unsigned index);
  // The park handler: parks the pool thread that runs it if it should be parked, else tries again.
  void park_one();

  boost::asio::io_context& io_;
  const Options options_;
  const OnError on_error_;
  std::vector<std::thread> threads_;
  std::vector<clockid_t> clocks_;  // each thread's CPU clock, written before start() returns
  std::atomic<unsigned> active_{1};
  std::atomic<uint64_t> changes_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  unsigned parked_ = 0;    // guarded by mu_: threads inside park_here
  // Governor state (its handler runs on one thread at a time: a single timer chain).
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::vector<double> last_cpu_;
  std::chrono::steady_clock::time_point last_tick_{};
  int quiet_ticks_ = 0;
  bool idle_ = true;  // the last tick saw one thread, less than park_below busy
};

}  // namespace imet::node
