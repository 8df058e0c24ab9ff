// The node's JSON API routes (docs/api.md), served by api::HttpServer under /v1/:
//   GET  /v1/status                 chain id, head and final block, pending count, fees, epoch,
//                                   witnesses, peers and sync state
//   GET  /v1/blocks/{height|hash}   a block: header fields, the signed header, its transactions
//                                   and its finality certificate
//   GET  /v1/accounts/{address}     an account, with a state proof against the head's state root
//   POST /v1/txs                    {"tx": "<hex of the canonical encoding>"} → 202 {"id": …}
//   GET  /v1/txs/{id}               pending | final (height, index, block) | rejected (reason) |
//   404 GET  /v1/delegates, /v1/nodes   registries (lists) GET  /v1/devices/{a}, /v1/names/{n},
//   /v1/notarizations/{h}   one record with a state proof GET  /v1/epochs/{n}             a
//   Proof-of-Data epoch's pool and settled weights
// Errors are {"error": {"code": "<name>", "message": "…"}} with a 4xx status; rejected
// transactions carry the ledger's reason name and number (docs/ledger.md).
// Thread-safety: the handler may run on several threads at once; every use of the Chain holds
// `chain_mu`, the same mutex the block producer holds.
#pragma once

#include <mutex>

#include "api/http_server.h"
#include "node/chain.h"

namespace imet::node {

class ConsensusService;

// `consensus` (may be null: no network) supplies peers and sync state to /v1/status and gossips
// transactions accepted by POST /v1/txs. It must outlive the handler.
api::HttpHandler make_api_routes(Chain& chain, std::mutex& chain_mu,
                                 const crypto::PublicKey& node_key,
                                 ConsensusService* consensus = nullptr);

}  // namespace imet::node
