// imet-sim: runs the deterministic consensus simulation (tests/sim/simulation.h) over a range of
// seeds and prints one line per seed and, at the end, the simulated-to-wall-time ratio.
//   imet-sim --seeds A..B [--witnesses N] [--slot-ms MS] [--long] [--dec on|off] [--node-resends]
//            [--replay-check] [--check-signatures] [--digest] [--verbose]
// --slot-ms sets the genesis slot (default 1,000; delays and timeouts scale with it, so the work
// per block barely changes and the simulated-to-wall ratio grows with it).
// --long runs a longer chaos phase (300 slots) with more faults. --dec on makes every seed a DEC
// seed (N_min < N_max, load phases that resize N_active; by default about 1 seed in 4 with
// N <= 21) and fails a seed whose N_active never changed; --dec off makes none.
// --node-resends sends the engines' re-sends directly to peers only, as the node does today,
// instead of flooding them (docs/consensus.md, "Simulation", Findings).
// --check-signatures verifies with Ed25519 every signature a simulated engine reports as its own
// (by default the signature memo records those as valid unverified; tests/sim/memo_checker.h)
// and aborts if one does not verify.
// --replay-check runs every seed twice and fails unless both runs give the same digest (final
// heights and hashes, event and message counts). --digest prints each seed's digest (to check that
// an optimization left the behaviour unchanged). Exit status 0 iff every seed passed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "memo_checker.h"
#include "simulation.h"

namespace {

bool parse_range(const std::string& s, uint64_t& a, uint64_t& b) {
  const auto dots = s.find("..");
  try {
    if (dots == std::string::npos) {
      a = b = std::stoull(s);
    } else {
      a = std::stoull(s.substr(0, dots));
      b = std::stoull(s.substr(dots + 2));
    }
  } catch (...) {
    return false;
  }
  return a <= b;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "imet-sim: %s\nusage: imet-sim --seeds A..B [--witnesses N] [--slot-ms MS] [--long] "
               "[--dec on|off] [--node-resends] [--replay-check] [--check-signatures] [--digest] "
               "[--verbose]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t first = 1, last = 1;
  imet::sim::SimOptions base;
  bool replay = false;
  bool digest = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seeds" && i + 1 < argc) {
      if (!parse_range(argv[++i], first, last)) return usage("--seeds takes A..B with A <= B");
    } else if (arg == "--witnesses" && i + 1 < argc) {
      const long n = std::strtol(argv[++i], nullptr, 10);
      if (n < 1 || n > 108) return usage("--witnesses takes 1..108");
      base.witnesses = static_cast<uint32_t>(n);
    } else if (arg == "--slot-ms" && i + 1 < argc) {
      const long ms = std::strtol(argv[++i], nullptr, 10);
      if (ms < 100 || ms > 60'000) return usage("--slot-ms takes 100..60000");
      base.slot_ms = static_cast<uint32_t>(ms);
    } else if (arg == "--long") {
      base.long_run = true;
    } else if (arg == "--dec" && i + 1 < argc) {
      const std::string v = argv[++i];
      if (v != "on" && v != "off") return usage("--dec takes on or off");
      base.dec = v == "on" ? imet::sim::DecMode::kOn : imet::sim::DecMode::kOff;
    } else if (arg == "--node-resends") {
      base.node_resends = true;
    } else if (arg == "--replay-check") {
      replay = true;
    } else if (arg == "--check-signatures") {
      imet::sim::MemoChecker::instance().set_check_signed(true);
    } else if (arg == "--digest") {
      digest = true;
    } else if (arg == "--verbose") {
      base.verbose = true;
    } else {
      return usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t sim_ms = 0, failed = 0, dec_seeds = 0, resized = 0, sparse = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    imet::sim::SimOptions o = base;
    o.seed = seed;
    const auto t0 = std::chrono::steady_clock::now();
    imet::sim::SimResult r = imet::sim::run_simulation(o);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sim_ms += r.stats.sim_ms;
    bool ok = r.ok;
    std::string note = r.failure;
    if (ok && base.dec == imet::sim::DecMode::kOn && r.stats.resizes == 0) {
      ok = false;
      note = "DEC: N_active never changed";
    }
    dec_seeds += r.stats.dec ? 1 : 0;
    resized += r.stats.resizes > 0 ? 1 : 0;
    sparse += r.stats.mesh ? 0 : 1;
    if (ok && replay) {
      imet::sim::SimResult again = imet::sim::run_simulation(o);
      if (!again.ok || again.digest() != r.digest()) {
        ok = false;
        note = "replay differs: first " + r.digest() + " / second " + again.digest() + " " +
               again.failure;
      }
    }
    const auto& s = r.stats;
    std::printf(
        "seed %llu witnesses %u byzantine %u %s%s: %s height %llu attempts<=%u commits %llu "
        "(synced %llu) crashes %llu partitions %llu equivocations %llu evidence %llu txs %llu "
        "relayed %llu rejected-honest %llu rejected-relayed %llu "
        "recovered %llums sim %.1fs wall %.3fs%s%s\n",
        static_cast<unsigned long long>(seed), o.witnesses, s.byzantine,
        s.mesh ? "mesh" : ("sparse/" + std::to_string(s.links)).c_str(),
        s.dec ? (" dec " + std::to_string(s.n_min) + ".." + std::to_string(o.witnesses) +
                 " active " + std::to_string(s.min_active) + ".." + std::to_string(s.max_active) +
                 " resizes " + std::to_string(s.resizes))
                    .c_str()
              : "",
        ok ? "ok" : "FAIL", static_cast<unsigned long long>(s.final_height), s.max_attempt,
        static_cast<unsigned long long>(s.commits), static_cast<unsigned long long>(s.synced),
        static_cast<unsigned long long>(s.crashes), static_cast<unsigned long long>(s.partitions),
        static_cast<unsigned long long>(s.equivocations),
        static_cast<unsigned long long>(s.evidence), static_cast<unsigned long long>(s.txs_final),
        static_cast<unsigned long long>(s.relayed),
        static_cast<unsigned long long>(s.invalid_from_honest),
        static_cast<unsigned long long>(s.invalid_relayed),
        static_cast<unsigned long long>(s.recovered_ms), static_cast<double>(s.sim_ms) / 1000, wall,
        ok ? "" : "\n  ", note.c_str());
    if (digest) std::printf("  digest %s\n", r.digest().c_str());
    if (!ok) ++failed;
    std::fflush(stdout);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t seeds = last - first + 1;
  std::printf(
      "%llu seeds (%llu sparse, %llu DEC, %llu resized N_active), %llu failed; simulated %.1f s "
      "in %.2f s wall: %.0fx real time\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(sparse),
      static_cast<unsigned long long>(dec_seeds), static_cast<unsigned long long>(resized),
      static_cast<unsigned long long>(failed), static_cast<double>(sim_ms) / 1000, wall,
      wall > 0 ? static_cast<double>(sim_ms) / 1000 / wall : 0.0);
  return failed == 0 ? 0 : 1;
}
