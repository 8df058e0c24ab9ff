// imet-tps-load: the finality benchmark's load generator (issue 5; docs/benchmarks.md "Consensus").
// It drives a local testnet made by `imet testnet start` with signed transfers at a fixed rate and
// measures what becomes final:
//   1. reads DIR/testnet.json, DIR/genesis.json and the nodes' key files (the genesis funds them);
//   2. makes --senders fresh accounts and funds them from the node keys (in waves: the mempool
//      takes at most 64 pending transactions per sender);
//   3. signs every transfer of the run before it starts (signing is not part of the measurement);
//   4. submits them open loop at --rate per second for --seconds, one thread per node, each
//      sending its share every --batch-ms as one POST /v1/txs batch (a sender always uses the same
//      node, so its nonces arrive in order). An offer the node refuses (e.g. busy: mempool_full,
//      per transaction or the whole batch as HTTP 503) is counted as refused; its nonce was not
//      used, so the sender's next offer sends the transfer with that nonce again (the same signed
//      bytes: a client trying again at its next opportunity) and a refusal leaves no nonce gap.
//      The transfers at the end of a sender's nonce range that were never needed are not sent;
//   5. an observer polls one node's final height every 5 ms, reads each new final block and
//      records when each transfer became final there;
//   6. reports finalized transfers per second over the steady window (after --warmup seconds),
//      submit-to-final latency percentiles (ms and slots) of transfers sent in that window, the
//      refusals, and the CPU time the imetd processes used per finalized transfer.
// Thread-safety: the submitter threads own disjoint slices of the transfer table (all transfers of
// their senders); the table's send times are read by the observer only through atomics. Invariants:
// every transfer is signed before the clock starts; a transfer counts as final only when it is in a
// final block.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "codec/serialize.h"
#include "crypto/address.h"
#include "ledger/amount.h"
#include "ledger/genesis.h"
#include "ledger/transaction.h"
#include "util/bytes.h"
#include "util/fs.h"
#include "wallet/key_file.h"
#include "wallet/node_client.h"

namespace {

using namespace imet;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  double rate = 1000;
  double seconds = 20;
  double warmup = 5;
  size_t senders = 1000;
  unsigned batch_ms = 50;
  unsigned observe = 0;  // the node whose finality is observed
  double drain = 30;     // seconds to wait after the run for the rest to become final
  std::string json_out;
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "imet-tps-load: %s\n", m.c_str());
  std::exit(1);
}

template <typename T>
T check(util::Result<T> r, const std::string& what) {
  if (!r.ok()) die(what + ": " + r.status().message());
  return std::move(r).value();
}

constexpr size_t kMaxPost = 2000;  // transfers per POST /v1/txs (about 700 KB of JSON)

struct Node {
  std::string name, dir;
  crypto::SigningKey key;
  wallet::NodeClient client;
};

struct Transfer {
  std::string hex;
  ledger::Hash id{};
  std::atomic<int64_t> sent_ns{-1};   // since the run's start; -1: not sent
  std::atomic<int64_t> final_ns{-1};  // when the observer saw it final
  std::atomic<bool> accepted{false};  // the node took it (pending), at send time sent_ns
};

int64_t since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

json get_json(const wallet::NodeClient& c, const std::string& path) {
  std::string body = check(c.get(path), c.url() + path);
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) die(c.url() + path + ": not JSON");
  return j;
}

// POSTs a batch; returns the results array. A batch the node refuses as a whole because it is busy
// (HTTP 503, mempool_full) is answered as one mempool_full refusal per transaction.
json post_batch(const wallet::NodeClient& c, const std::vector<const std::string*>& hexes) {
  std::string body;
  size_t n = 16;
  for (const std::string* h : hexes)
    n += h->size() + 3;
  body.reserve(n);
  body += "{\"txs\":[";
  for (size_t i = 0; i < hexes.size(); ++i) {
    if (i) body += ',';
    body += '"';
    body += *hexes[i];
    body += '"';
  }
  body += "]}";
  util::Result<std::string> posted = c.post("/v1/txs", body);
  if (!posted.ok() && posted.status().code() == util::StatusCode::kUnavailable &&
      posted.status().message().rfind("mempool_full", 0) == 0) {
    json busy = json::array();
    for (size_t i = 0; i < hexes.size(); ++i)
      busy.push_back({{"error", {{"code", "mempool_full"}, {"status", 503}}}});
    return busy;
  }
  std::string reply = check(std::move(posted), c.url() + "/v1/txs");
  json j = json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.contains("results")) die("unexpected batch reply: " + reply);
  return j["results"];
}

uint64_t account_nonce(const Node& via, const std::string& address) {
  return get_json(via.client, "/v1/accounts/" + address).at("nonce").get<uint64_t>();
}

uint64_t final_height(const wallet::NodeClient& c) {
  return get_json(c, "/v1/status").at("height").get<uint64_t>();
}

ledger::Transaction transfer(const std::string& chain_id, const crypto::SigningKey& from,
                             uint64_t nonce, ledger::Amount fee, uint64_t expiry,
                             const ledger::Address& to, ledger::Amount amount) {
  ledger::Transaction tx;
  tx.chain_id = chain_id;
  tx.sender = from.public_key();
  tx.nonce = nonce;
  tx.fee = fee;
  tx.expiry_height = expiry;
  tx.body = ledger::Transfer{to, amount, {}};
  tx.sign(from);
  return tx;
}

// CPU seconds (user + system) the process has used, from /proc/PID/stat.
double process_cpu_s(pid_t pid) {
  auto text = util::read_file("/proc/" + std::to_string(pid) + "/stat", 1 << 12);
  if (!text.ok()) return 0;
  const std::string& s = *text;
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f;
  size_t i = close + 2;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    f.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  if (f.size() < 13) return 0;
  // Fields 14 and 15 (utime, stime) are f[11] and f[12] after the command name.
  return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  k = std::min(k, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--testnet") {
      o.dir = next();
    } else if (a == "--rate") {
      o.rate = std::stod(next());
    } else if (a == "--seconds") {
      o.seconds = std::stod(next());
    } else if (a == "--warmup") {
      o.warmup = std::stod(next());
    } else if (a == "--senders") {
      o.senders = std::stoul(next());
    } else if (a == "--batch-ms") {
      o.batch_ms = static_cast<unsigned>(std::stoul(next()));
    } else if (a == "--observe") {
      o.observe = static_cast<unsigned>(std::stoul(next()));
    } else if (a == "--drain") {
      o.drain = std::stod(next());
    } else if (a == "--json") {
      o.json_out = next();
    } else {
      die("unknown argument '" + a +
          "'\nusage: imet-tps-load --testnet DIR [--rate N] [--seconds S] [--warmup S] "
          "[--senders N] [--batch-ms MS] [--observe NODE] [--drain S] [--json FILE]");
    }
  }
  if (o.dir.empty()) die("--testnet DIR is required (a network from `imet testnet start`)");
  if (o.rate <= 0 || o.seconds <= o.warmup || o.senders == 0 || o.batch_ms == 0) {
    die("need --rate > 0, --seconds > --warmup, --senders > 0, --batch-ms > 0");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);

  // --- The network.
  json manifest = json::parse(check(util::read_file(o.dir + "/testnet.json", 1 << 20), "manifest"),
                              nullptr, false);
  if (manifest.is_discarded()) die(o.dir + "/testnet.json is not JSON");
  ledger::Genesis genesis =
      check(ledger::parse_genesis_json(
                check(util::read_file(o.dir + "/genesis.json", 16 << 20), "genesis")),
            "genesis");
  std::vector<Node> nodes;
  std::vector<pid_t> pids;
  for (const json& n : manifest.at("nodes")) {
    const std::string dir = n.at("dir").get<std::string>();
    auto kf = check(wallet::parse_key_file(check(util::read_file(dir + "/node_key.json", 1 << 16),
                                                 dir + "/node_key.json")),
                    dir + "/node_key.json");
    auto key = check(wallet::open_key(kf, ""), "node key of " + dir);
    auto client = check(wallet::NodeClient::connect_to("http://127.0.0.1:" +
                                                       std::to_string(n.at("http").get<int>())),
                        "node url");
    nodes.push_back({n.at("name").get<std::string>(), dir, std::move(key), std::move(client)});
    auto pid_text = util::read_file(dir + "/imetd.pid", 64);
    pids.push_back(pid_text.ok() ? static_cast<pid_t>(std::atol(pid_text->c_str())) : 0);
  }
  if (nodes.empty()) die("the testnet has no nodes");
  if (o.observe >= nodes.size()) die("--observe: no such node");
  const size_t nn = nodes.size();
  const std::string& chain_id = genesis.chain_id;
  const uint32_t slot_ms = genesis.params.slot_ms;
  const ledger::Amount fee = genesis.params.fees.min_fee(ledger::TxKind::kTransfer);
  const wallet::NodeClient& observer = nodes[o.observe].client;

  const size_t total = static_cast<size_t>(o.rate * o.seconds);
  const size_t per_sender = (total + o.senders - 1) / o.senders;
  const uint64_t start_height = final_height(observer);
  const uint64_t expiry = start_height + genesis.params.max_expiry_blocks / 2;
  std::printf("testnet %s: %zu nodes, chain %s, %u ms slots, final height %llu\n", o.dir.c_str(),
              nn, chain_id.c_str(), slot_ms, static_cast<unsigned long long>(start_height));

  // --- Fund the senders from the node keys, in waves of at most 60 per funder.
  std::vector<crypto::SigningKey> senders;
  senders.reserve(o.senders);
  for (size_t i = 0; i < o.senders; ++i)
    senders.push_back(crypto::SigningKey::generate());
  const ledger::Amount grant = static_cast<ledger::Amount>(per_sender + 1) * (fee + 1);
  {
    auto t = Clock::now();
    std::vector<uint64_t> nonce(nn);
    for (size_t f = 0; f < nn; ++f)
      nonce[f] = account_nonce(nodes[f], crypto::address_of(nodes[f].key.public_key()));
    size_t next = 0;
    while (next < senders.size()) {
      std::vector<uint64_t> want(nn);
      for (size_t f = 0; f < nn; ++f) {
        std::vector<std::string> hex;
        for (int k = 0; k < 60 && next < senders.size(); ++k, ++next) {
          ledger::Transaction tx =
              transfer(chain_id, nodes[f].key, nonce[f]++, fee, expiry,
                       crypto::address_bytes_of(senders[next].public_key()), grant);
          hex.push_back(util::to_hex(codec::encode(tx)));
        }
        want[f] = nonce[f];
        std::vector<const std::string*> ptrs;
        for (const auto& h : hex)
          ptrs.push_back(&h);
        if (!ptrs.empty()) {
          json res = post_batch(nodes[f].client, ptrs);
          for (const json& r : res) {
            if (r.contains("error")) die("funding transfer refused: " + r["error"].dump());
          }
        }
      }
      for (size_t f = 0; f < nn; ++f) {
        const std::string addr = crypto::address_of(nodes[f].key.public_key());
        for (int tries = 0; account_nonce(nodes[f], addr) < want[f]; ++tries) {
          if (tries > 600) die("funding transfers did not become final within 60 s");
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    }
    std::printf("funded %zu senders in %.1f s\n", senders.size(),
                std::chrono::duration<double>(Clock::now() - t).count());
  }

  // --- Sign everything. Transfer k: sender k % S, its nonce k / S, submitted via node
  // (k % S) % nodes.
  std::vector<Transfer> table(total);
  {
    auto t = Clock::now();
    const ledger::Address sink = crypto::address_bytes_of(nodes[0].key.public_key());
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> ts;
    for (unsigned w = 0; w < threads; ++w) {
      ts.emplace_back([&, w] {
        for (size_t k = w; k < total; k += threads) {
          ledger::Transaction tx =
              transfer(chain_id, senders[k % o.senders], k / o.senders, fee, expiry, sink, 1);
          table[k].hex = util::to_hex(codec::encode(tx));
          table[k].id = tx.id();
        }
      });
    }
    for (auto& th : ts)
      th.join();
    std::printf("signed %zu transfers in %.1f s\n", total,
                std::chrono::duration<double>(Clock::now() - t).count());
  }
  std::unordered_map<std::string, size_t> by_id;
  by_id.reserve(total * 2);
  for (size_t k = 0; k < total; ++k)
    by_id.emplace(util::to_hex(table[k].id), k);

  // --- Run.
  std::vector<double> cpu0(nn);
  for (size_t i = 0; i < nn; ++i)
    cpu0[i] = pids[i] ? process_cpu_s(pids[i]) : 0;
  const double self0 = self_cpu_s();
  const auto t0 = Clock::now();
  std::atomic<bool> submitting{true};
  std::atomic<size_t> refused{0};  // offers refused
  std::atomic<size_t> retried{0};  // offers that sent a transfer refused before
  // Per sender: how many of its offers were refused so far, i.e. how far behind its offers its
  // nonces are. Each element is used by the one submitter thread that owns the sender.
  std::vector<uint64_t> shift(o.senders, 0);
  std::mutex refusal_mu;
  std::map<std::string, size_t> refusals;
  std::vector<std::thread> submitters;
  for (size_t ni = 0; ni < nn; ++ni) {
    submitters.emplace_back([&, ni] {
      std::vector<size_t> mine;  // indexes into table, in submission order
      for (size_t k = 0; k < total; ++k)
        if ((k % o.senders) % nn == ni) mine.push_back(k);
      const double my_rate = o.rate * static_cast<double>(mine.size()) / static_cast<double>(total);
      size_t sent = 0;
      while (sent < mine.size()) {
        const double elapsed = static_cast<double>(since(t0)) / 1e9;
        size_t due = std::min(mine.size(), static_cast<size_t>(elapsed * my_rate));
        // At most kMaxPost per request (the node's body limit is 1 MiB); the rest goes at once in
        // further requests.
        due = std::min(due, sent + kMaxPost);
        if (due > sent) {
          std::vector<const std::string*> ptrs;
          const int64_t now = since(t0);
          std::vector<size_t> entry;  // the transfer each offer sends
          for (size_t k = sent; k < due; ++k) {
            // Offer k of sender s would carry nonce k / S; the sender is shift[s] behind.
            const size_t t = mine[k];
            const size_t s = t % o.senders;
            const size_t e = t - shift[s] * o.senders;
            if (shift[s] > 0 && table[e].sent_ns.load() >= 0) retried.fetch_add(1);
            entry.push_back(e);
            ptrs.push_back(&table[e].hex);
            table[e].sent_ns.store(now);
          }
          json res = post_batch(nodes[ni].client, ptrs);
          for (size_t k = 0; k < res.size() && k < entry.size(); ++k) {
            const std::string code =
                res[k].contains("error") ? res[k]["error"].value("code", "?") : "";
            // "duplicate": already pending (a same-batch gap filled later): it was accepted.
            if (code.empty() || code == "duplicate") {
              table[entry[k]].accepted.store(true);
            } else {
              ++shift[entry[k] % o.senders];
              refused.fetch_add(1);
              std::lock_guard lock(refusal_mu);
              ++refusals[code];
            }
          }
          sent = due;
        }
        if (due < std::min(mine.size(), static_cast<size_t>(elapsed * my_rate))) continue;
        std::this_thread::sleep_for(std::chrono::milliseconds(o.batch_ms));
      }
    });
  }

  // Observer: final blocks on one node.
  std::atomic<size_t> finals{0};
  struct BlockSeen {
    uint64_t height;
    size_t txs;
    int64_t seen_ns;
  };
  std::vector<BlockSeen> blocks;
  std::thread watcher([&] {
    uint64_t h = final_height(observer);
    const size_t expected = total;
    auto deadline_after_submit = [&] {
      return !submitting.load() && static_cast<double>(since(t0)) / 1e9 > o.seconds + o.drain;
    };
    while (finals.load() + refused.load() < expected && !deadline_after_submit()) {
      uint64_t top = final_height(observer);
      const int64_t seen = since(t0);
      for (; h < top; ++h) {
        json b = get_json(observer, "/v1/blocks/" + std::to_string(h + 1));
        size_t n = 0;
        for (const json& tx : b.at("txs")) {
          auto it = by_id.find(tx.at("id").get<std::string>());
          if (it == by_id.end()) continue;
          table[it->second].final_ns.store(seen);
          ++n;
        }
        finals.fetch_add(n);
        blocks.push_back({h + 1, n, seen});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& th : submitters)
    th.join();
  const double submit_s = static_cast<double>(since(t0)) / 1e9;
  submitting = false;
  watcher.join();
  std::vector<double> cpu1(nn);
  for (size_t i = 0; i < nn; ++i)
    cpu1[i] = pids[i] ? process_cpu_s(pids[i]) : 0;
  const double self1 = self_cpu_s();
  const double run_s = static_cast<double>(since(t0)) / 1e9;

  // --- Results. Steady window: [warmup, seconds] of submission time.
  const int64_t w0 = static_cast<int64_t>(o.warmup * 1e9);
  const int64_t w1 = static_cast<int64_t>(o.seconds * 1e9);
  size_t final_in_window = 0, never_final = 0;
  std::vector<double> lat_ms;
  for (const Transfer& t : table) {
    const int64_t s = t.sent_ns.load(), f = t.final_ns.load();
    if (f >= w0 && f < w1) ++final_in_window;
    if (f < 0 && t.accepted.load()) ++never_final;
    if (s >= w0 && s < w1 && f >= 0) lat_ms.push_back(static_cast<double>(f - s) / 1e6);
  }
  const double window_s = o.seconds - o.warmup;
  const double tps = static_cast<double>(final_in_window) / window_s;
  const double p50 = percentile(lat_ms, 50), p90 = percentile(lat_ms, 90),
               p99 = percentile(lat_ms, 99), pmax = percentile(lat_ms, 100);
  double node_cpu = 0;
  for (size_t i = 0; i < nn; ++i)
    node_cpu += cpu1[i] - cpu0[i];
  const size_t all_final = finals.load();
  size_t max_block = 0;
  for (const BlockSeen& b : blocks)
    max_block = std::max(max_block, b.txs);

  std::printf(
      "offered %.0f transfers/s for %.1f s (submitting took %.1f s): %zu offered, %zu refused "
      "(%zu of the offers resent a refused transfer)\n",
      o.rate, o.seconds, submit_s, total, refused.load(), retried.load());
  for (const auto& [code, n] : refusals)
    std::printf("  refused %-24s %zu\n", code.c_str(), n);
  const size_t accepted = total - refused.load();
  std::printf(
      "finalized %zu of %zu accepted (%zu accepted but never final within %.0f s after the run); "
      "largest block %zu transfers\n",
      all_final, accepted, never_final, o.drain, max_block);
  std::printf("steady window %.0f-%.0f s: %.0f finalized transfers/s (%.0f%% of offered)\n",
              o.warmup, o.seconds, tps, 100.0 * tps / o.rate);
  std::printf(
      "submit-to-final latency (%zu transfers sent in the window): p50 %.0f ms (%.2f "
      "slots), p90 %.0f ms, p99 %.0f ms (%.2f slots), max %.0f ms\n",
      lat_ms.size(), p50, p50 / slot_ms, p90, p99, p99 / slot_ms, pmax);
  std::printf(
      "CPU: imetd processes %.1f s (%.0f us per finalized transfer over %zu nodes), load "
      "generator %.1f s, over %.1f s\n",
      node_cpu, all_final ? node_cpu * 1e6 / static_cast<double>(all_final) : 0.0, nn,
      self1 - self0, run_s);

  if (!o.json_out.empty()) {
    json j = {{"nodes", nn},
              {"slot_ms", slot_ms},
              {"offered_per_s", o.rate},
              {"seconds", o.seconds},
              {"warmup_s", o.warmup},
              {"senders", o.senders},
              {"sent", total},
              {"refused", refused.load()},
              {"refusals", refusals},
              {"accepted", accepted},
              {"retried", retried.load()},
              {"finalized", all_final},
              {"never_final", never_final},
              {"finalized_per_s", tps},
              {"latency_ms", {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", pmax}}},
              {"latency_slots", {{"p50", p50 / slot_ms}, {"p99", p99 / slot_ms}}},
              {"imetd_cpu_s", node_cpu},
              {"loader_cpu_s", self1 - self0},
              {"largest_block", max_block}};
    // Every final block the observer saw: [height, transfers of this run, seen at (ms)].
    json seen = json::array();
    for (const BlockSeen& b : blocks)
      seen.push_back({b.height, b.txs, b.seen_ns / 1'000'000});
    j["blocks"] = seen;
    std::ofstream(o.json_out) << j.dump(2) << "\n";
  }
  return never_final == 0 ? 0 : 3;
}
