#include "ledger/consensus_apply.h"

#include <algorithm>

#include "ledger/amount.h"
#include "ledger/delegates.h"
#include "ledger/schedule.h"

namespace imet::ledger {

namespace {

void jail(StateOverlay& state, const Address& who, Delegate& d, uint64_t height, uint64_t round,
          const ChainParams& p) {
  d.missed = 0;
  d.jailed_height = height;
  d.jailed_until_round = std::max(d.jailed_until_round, round + p.jail_rounds + 1);
  put_record(state, keys::delegate(who), d);
}

util::Status count_misses(StateOverlay& state, const RoundSchedule& prev, const Block& block,
                          uint64_t round, const ChainParams& p) {
  const FinalityCertificate& cert = *block.last_cert;
  const uint64_t h = block.header.height;
  // Beyond size * max_missed_slots attempts every witness has been counted enough to be jailed:
  // the cap bounds the work a certificate with a huge attempt number can cause.
  const uint64_t attempts =
      std::min<uint64_t>(cert.attempt, uint64_t{prev.size()} * p.max_missed_slots);
  // As producer_of(state, prev, h - 1, i) for each i, reading the delegate records once: only a
  // jail changes who is unjailed (a re-jail moves jailed_height), so the list is rebuilt after one.
  std::vector<const Address*> unjailed;
  bool stale = true;
  for (uint32_t i = 0; i < attempts; ++i) {
    if (stale) {
      IMET_ASSIGN_OR_RETURN(unjailed, unjailed_witnesses(state, prev, h - 1));
      stale = false;
    }
    const Address who = producer_among(prev, unjailed, h - 1, i);
    if (who == prev.last_producer) continue;  // it produced the block that was decided
    IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d,
                          get_record<Delegate>(state, keys::delegate(who)));
    if (!d) continue;  // unregistered since: nothing to count on
    d->missed++;
    if (d->missed >= p.max_missed_slots) {
      jail(state, who, *d, h, round, p);
      stale = true;
    } else {
      put_record(state, keys::delegate(who), *d);
    }
  }
  return {};
}

}  // namespace

util::Status check_evidence(const StateReader& state, const Evidence& ev, uint64_t height,
                            const ChainConfig& chain, const SignatureChecker& votes) {
  IMET_TRY(ev.check_form(chain.chain_id));
  const uint64_t vh = ev.a.height;
  if (vh > height) {
    return util::invalid_argument("evidence votes are for height " + std::to_string(vh) +
                                  ", above the block's " + std::to_string(height));
  }
  if (height - vh > chain.params.evidence_max_age_blocks) {
    return util::invalid_argument("evidence votes for height " + std::to_string(vh) +
                                  " are older than " +
                                  std::to_string(chain.params.evidence_max_age_blocks) + " blocks");
  }
  const Address who = ev.offender();
  IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d,
                        get_record<Delegate>(state, keys::delegate(who)));
  if (!d)
    return util::invalid_argument("evidence offender " + crypto::encode_address(who) +
                                  " is not a delegate");
  IMET_ASSIGN_OR_RETURN(std::optional<SettledOffence> done,
                        get_record<SettledOffence>(state, keys::offence(ev.offence_id())));
  if (done) {
    return util::invalid_argument("the offence of " + crypto::encode_address(who) + " at height " +
                                  std::to_string(vh) + " was already slashed at height " +
                                  std::to_string(done->height));
  }
  return ev.check_signatures(votes);
}

util::Status begin_consensus(StateOverlay& state, const Block& block, const ChainTip& parent,
                             const ChainConfig& chain, bool check_producer,
                             const SignatureChecker& certs, const KnownUnjailed* known) {
  const BlockHeader& h = block.header;
  const ChainParams& p = chain.params;
  IMET_ASSIGN_OR_RETURN(RoundSchedule prev, current_schedule(state));
  IMET_ASSIGN_OR_RETURN(RoundSchedule next, next_schedule(state, parent, p));
  if (h.round != next.round) {
    return util::invalid_argument("block round " + std::to_string(h.round) + " is not round " +
                                  std::to_string(next.round) + " of height " +
                                  std::to_string(h.height));
  }
  if (check_producer) {
    Address want;
    if (known != nullptr && known->height == h.height && same_order(*known->schedule, next)) {
      want = producer_among(next, known->unjailed, h.height, h.slot);
    } else {
      IMET_ASSIGN_OR_RETURN(want, producer_of(state, next, h.height, h.slot));
    }
    if (h.producer_address() != want) {
      return util::invalid_argument(
          "block producer " + crypto::encode_address(h.producer_address()) +
          " is not the producer of height " + std::to_string(h.height) + " attempt " +
          std::to_string(h.slot) + " (" + crypto::encode_address(want) + ")");
    }
  }
  if (h.height >= 2) {
    if (!block.last_cert) return util::invalid_argument("block has no parent certificate");
    util::Status v = block.last_cert->verify(chain.chain_id, prev.witnesses, certs);
    if (!v.ok()) return util::invalid_argument("parent certificate: " + v.message());
    IMET_TRY(count_misses(state, prev, block, next.round, p));
  }
  for (size_t i = 0; i < block.evidence.size(); ++i) {
    const Evidence& ev = block.evidence[i];
    util::Status ok = check_evidence(state, ev, h.height, chain, certs);
    if (!ok.ok()) {
      if (ok.code() != util::StatusCode::kInvalidArgument) return ok;
      return util::invalid_argument("evidence " + std::to_string(i) + ": " + ok.message());
    }
    const Address who = ev.offender();
    IMET_ASSIGN_OR_RETURN(std::optional<Account> acc,
                          get_record<Account>(state, keys::account(who)));
    Account before = acc.value_or(Account{});
    Account after = before;
    const Amount cut = *mul_div(before.stake, p.slash_pct, 100);
    after.stake -= cut;
    if (cut > 0) {
      IMET_TRY(write_account(state, who, before, after));
      IMET_ASSIGN_OR_RETURN(std::optional<Globals> g, get_record<Globals>(state, keys::globals()));
      if (!g) return util::corruption("state has no globals record");
      g->pod_pool += cut;
      put_record(state, keys::globals(), *g);
    }
    IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d,
                          get_record<Delegate>(state, keys::delegate(who)));
    if (!d.has_value())
      return util::corruption("delegate record vanished: " + crypto::encode_address(who));
    Delegate rec = std::move(*d);
    jail(state, who, rec, h.height, next.round, p);
    put_record(state, keys::offence(ev.offence_id()), SettledOffence{h.height});
  }
  put_record(state, keys::schedule(), next);
  return {};
}

util::Status end_consensus(StateOverlay& state, const Block& block, const ChainConfig& chain) {
  IMET_ASSIGN_OR_RETURN(RoundSchedule s, current_schedule(state));
  const Address producer = block.header.producer_address();
  s.blocks_seen++;
  if (block_full(block.txs.size(), chain.params)) s.full_blocks++;
  if (block_busy(block.txs.size(), chain.params)) s.busy_blocks++;
  s.last_producer = producer;
  put_record(state, keys::schedule(), s);
  IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d,
                        get_record<Delegate>(state, keys::delegate(producer)));
  if (d && d->missed != 0) {
    d->missed = 0;
    put_record(state, keys::delegate(producer), *d);
  }
  return {};
}

}  // namespace imet::ledger
