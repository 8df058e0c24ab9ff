// IoPool on a real io_context: at low load only one thread runs handlers (the others are parked
// outside Asio's scheduler), a busy pool takes the others in and gives them back when the load
// ends, a non-adaptive pool uses every thread, and stop/join return with threads parked.
#include "node/io_pool.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace imet::node {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

IoPool::Options fast_governor(unsigned threads) {
  IoPool::Options o;
  o.threads = threads;
  o.tick = milliseconds(5);
  o.idle_tick = milliseconds(5);
  o.park_after = 10;  // 50 ms quiet
  return o;
}

// Posts `n` handlers one at a time (each after the previous ran) and returns the threads they ran
// on.
std::set<std::thread::id> threads_of_paced_handlers(boost::asio::io_context& io, int n) {
  std::set<std::thread::id> ids;
  for (int i = 0; i < n; ++i) {
    std::promise<std::thread::id> ran;
    boost::asio::post(io, [&ran] { ran.set_value(std::this_thread::get_id()); });
    ids.insert(ran.get_future().get());
    std::this_thread::sleep_for(milliseconds(1));
  }
  return ids;
}

void spin_for(milliseconds d) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
  }
}

void shut_down(boost::asio::io_context& io, IoPool& pool) {
  io.stop();
  pool.stop();
  pool.join();
}

bool wait_until(const std::function<bool()>& pred, milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(IoPool, LowLoadRunsOnOneThreadBusyLoadOnAllThenBackToOne) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  IoPool pool(io, fast_governor(2), nullptr);
  pool.start();
  EXPECT_EQ(pool.active(), 1u);
  EXPECT_EQ(threads_of_paced_handlers(io, 50).size(), 1u);  // one thread, the others parked
  // Busy: handlers that keep one thread fully occupied, and more queued behind them.
  std::atomic<bool> stop_load{false};
  std::atomic<int> running{0};
  std::function<void()> busy = [&] {
    ++running;
    spin_for(milliseconds(2));
    --running;
    if (!stop_load) boost::asio::post(io, busy);
  };
  for (int i = 0; i < 4; ++i)
    boost::asio::post(io, busy);
  EXPECT_TRUE(wait_until([&] { return pool.active() == 2u; }, milliseconds(2000)));
  EXPECT_TRUE(wait_until([&] { return running.load() == 2; }, milliseconds(2000)))
      << "the second thread never ran a handler";
  stop_load = true;
  EXPECT_TRUE(wait_until([&] { return pool.active() == 1u; }, milliseconds(3000)));
  EXPECT_GE(pool.changes(), 2u);
  std::this_thread::sleep_for(milliseconds(50));  // the park handler has run by now
  EXPECT_EQ(threads_of_paced_handlers(io, 50).size(), 1u);
  shut_down(io, pool);
}

TEST(IoPool, NonAdaptivePoolUsesEveryThread) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  IoPool::Options o;
  o.threads = 3;
  o.adaptive = false;
  IoPool pool(io, o, nullptr);
  pool.start();
  EXPECT_EQ(pool.active(), 3u);
  // Three handlers that each wait for the others: only three threads at once can finish them.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::promise<void> all;
  for (int i = 0; i < 3; ++i) {
    boost::asio::post(io, [&] {
      std::unique_lock lk(mu);
      if (++arrived == 3) {
        cv.notify_all();
        all.set_value();
      }
      cv.wait_for(lk, std::chrono::seconds(5), [&] { return arrived == 3; });
    });
  }
  EXPECT_EQ(all.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  shut_down(io, pool);
}

TEST(IoPool, StopAndJoinReturnWithThreadsParked) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  IoPool pool(io, fast_governor(4), nullptr);
  pool.start();
  EXPECT_EQ(pool.active(), 1u);
  const auto t0 = Clock::now();
  shut_down(io, pool);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(IoPool, AHandlerThatThrowsIsReported) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::promise<std::string> what;
  IoPool pool(io, fast_governor(1), [&](const std::exception& e) { what.set_value(e.what()); });
  pool.start();
  boost::asio::post(io, [] { throw std::runtime_error("boom"); });
  auto f = what.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), "boom");
  shut_down(io, pool);
}

}  // namespace
}  // namespace imet::node
