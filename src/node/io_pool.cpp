#include "node/io_pool.h"

#include <exception>

#include <boost/asio/post.hpp>
#include <pthread.h>

#include "util/log.h"

namespace imet::node {

namespace {
IoPool::Options normalized(IoPool::Options o) {
  if (o.threads == 0) o.threads = 1;
  return o;
}
}  // namespace

IoPool::IoPool(boost::asio::io_context& io, Options options, OnError on_error)
    : io_(io), options_(normalized(options)), on_error_(std::move(on_error)) {
  active_.store(options_.adaptive ? 1 : options_.threads);
}

IoPool::~IoPool() {
  stop();
  join();
}

void IoPool::start() {
  clocks_.assign(options_.threads, clockid_t{});
  last_cpu_.assign(options_.threads, 0.0);
  std::mutex ready_mu;
  std::condition_variable ready_cv;
  unsigned ready = 0;
  for (unsigned i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i, &ready_mu, &ready_cv, &ready] {
      {
        std::lock_guard lk(ready_mu);
        pthread_getcpuclockid(pthread_self(), &clocks_[i]);
        ++ready;
      }
      ready_cv.notify_all();
      run_thread(i);
    });
  }
  std::unique_lock lk(ready_mu);
  ready_cv.wait(lk, [&] { return ready == options_.threads; });
  lk.unlock();
  if (options_.adaptive && options_.threads > 1) {
    timer_ = std::make_unique<boost::asio::steady_timer>(io_);
    last_tick_ = std::chrono::steady_clock::now();
    arm_governor();
  }
}

void IoPool::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void IoPool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  timer_.reset();
}

namespace {
// The index of the pool thread running this code (kNotPool on other threads).
constexpr unsigned kNotPool = ~0u;
thread_local unsigned t_index = kNotPool;
}  // namespace

void IoPool::run_thread(unsigned index) {
  t_index = index;
  try {
    if (options_.adaptive) park_here(index);  // threads 1.. wait for the load to need them
    io_.run();
  } catch (const std::exception& e) {
    if (on_error_) on_error_(e);
  }
}

void IoPool::park_here(unsigned index) {
  std::unique_lock lk(mu_);
  if (stopping_ || io_.stopped() || active() > index) return;
  ++parked_;
  cv_.wait(lk, [&] { return stopping_ || io_.stopped() || active() > index; });
  --parked_;
}

void IoPool::park_one() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || io_.stopped() || parked_ >= options_.threads - active()) return;  // done
  }
  if (t_index != kNotPool && t_index >= active()) {
    park_here(t_index);
    return;
  }
  // This thread stays active: another must run the handler. Not at once (it would likely land
  // here again while the others are busy): 1 ms later.
  auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(1));
  t->async_wait([this, t](const boost::system::error_code& ec) {
    if (!ec) park_one();
  });
}

double IoPool::cpu_seconds(unsigned index) const {
  timespec ts{};
  if (clock_gettime(clocks_[index], &ts) != 0) return 0.0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void IoPool::arm_governor() {
  timer_->expires_after(idle_ ? options_.idle_tick : options_.tick);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    govern();
    arm_governor();
  });
}

void IoPool::govern() {
  const auto now = std::chrono::steady_clock::now();
  const double wall = std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  if (wall <= 0) return;
  const unsigned n = active();
  double busy_sum = 0;
  for (unsigned i = 0; i < options_.threads; ++i) {
    const double cpu = cpu_seconds(i);
    if (i < n) busy_sum += (cpu - last_cpu_[i]) / wall;
    last_cpu_[i] = cpu;
  }
  idle_ = n == 1 && busy_sum < options_.park_below;
  if (busy_sum / n > options_.unpark_above && n < options_.threads) {
    quiet_ticks_ = 0;
    {
      std::lock_guard lk(mu_);  // a parked thread checks active() under mu_: no lost wake-up
      active_.store(n + 1, std::memory_order_relaxed);
    }
    changes_.fetch_add(1, std::memory_order_relaxed);
    cv_.notify_all();
    util::log::debug("io pool: a thread joins",
                     {{"active", static_cast<uint64_t>(n + 1)}, {"busy", busy_sum}});
    return;
  }
  if (n > 1 && busy_sum < options_.park_below) {
    if (++quiet_ticks_ >= options_.park_after) {
      quiet_ticks_ = 0;
      {
        std::lock_guard lk(mu_);
        active_.store(n - 1, std::memory_order_relaxed);
      }
      changes_.fetch_add(1, std::memory_order_relaxed);
      boost::asio::post(io_, [this] { park_one(); });
      util::log::debug("io pool: a thread parks",
                       {{"active", static_cast<uint64_t>(n - 1)}, {"busy", busy_sum}});
    }
    return;
  }
  quiet_ticks_ = 0;
}

}  // namespace imet::node
