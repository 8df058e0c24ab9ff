#include "wallet/genesis_command.h"

#include <chrono>

#include "crypto/address.h"
#include "ledger/genesis.h"
#include "util/fs.h"

namespace imet::wallet {

namespace {

util::Result<ledger::Address> address_arg(const std::string& flag, const std::string& value) {
  if (value.empty()) return util::invalid_argument(flag + " is required");
  auto a = crypto::parse_address(value);
  if (!a.ok()) return a.status().with_context(flag);
  return a;
}

}  // namespace

util::Status genesis_new(const GenesisOptions& o, std::ostream& out) {
  uint64_t t = o.genesis_time_ms;
  if (t == 0) {
    t = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
  }
  ledger::Genesis g;
  if (o.dev) {
    IMET_ASSIGN_OR_RETURN(ledger::Address d, address_arg("--delegate", o.dev_delegate));
    g = ledger::make_dev_genesis(d, t, o.chain_id.empty() ? "imet-dev" : o.chain_id);
  } else {
    if (o.chain_id.empty()) return util::invalid_argument("--chain-id is required");
    ledger::DefaultAllocation a;
    IMET_ASSIGN_OR_RETURN(a.foundation, address_arg("--foundation", o.foundation));
    IMET_ASSIGN_OR_RETURN(a.team, address_arg("--team", o.team));
    IMET_ASSIGN_OR_RETURN(a.consensus_round, address_arg("--consensus-round", o.consensus_round));
    IMET_ASSIGN_OR_RETURN(a.angel_round, address_arg("--angel-round", o.angel_round));
    for (const std::string& d : o.delegates) {
      size_t eq = d.find('=');
      if (eq == std::string::npos) {
        return util::invalid_argument("--delegate '" + d + "': write NAME=imet1…");
      }
      IMET_ASSIGN_OR_RETURN(ledger::Address addr, address_arg("--delegate", d.substr(eq + 1)));
      a.delegates.push_back({addr, d.substr(0, eq)});
    }
    g = ledger::make_default_genesis(a, t, o.chain_id);
  }
  IMET_TRY(g.validate());
  std::string text = ledger::genesis_to_json(g);
  if (o.out_file.empty()) {
    out << text;
    return {};
  }
  IMET_TRY(util::write_file_new(o.out_file, text, 0644));
  out << "wrote " << o.out_file << " (chain " << g.chain_id << ", genesis hash "
      << util::to_hex(g.hash()) << ")\n";
  return {};
}

}  // namespace imet::wallet
