// `imet query …`, `imet notarize FILE`, `imet verify FILE` and `imet verify-proof`: read the
// chain through a node's JSON API (docs/api.md) and check what it says against state proofs.
// A proof is checked against a block header fetched from the node (or given with --header): the
// header must decode, hash to the block hash the node named and carry a valid producer signature;
// its state root must lead the proof to the record. Trust: the header is the anchor; with more
// than one delegate a light client also checks the block's finality certificate (consensus).
// Human output by default, --json prints the node's JSON. Wallet-internal header.
// Thread-safety: call from the main thread. Invariants: nothing here writes to the chain except
// notarize_file (one notarize transaction).
#pragma once

#include <string>

#include "wallet/tx_commands.h"

namespace imet::wallet {

// what: account ADDR|KEY, block HEIGHT|HASH, tx ID, delegates, nodes, device ADDR, name NAME,
// notarization HASH, epoch N, status.
util::Status query(const KeyCommandContext& ctx, const std::string& node_url,
                   const std::string& what, const std::string& arg);

// Hashes FILE (BLAKE2b-256) and notarizes it; waits until final unless opts.wait is false and
// prints the height.
util::Status notarize_file(const KeyCommandContext& ctx, TxOptions opts, const std::string& file,
                           const std::string& metadata);

// Who notarized FILE and when, verified against the state proof and the block header.
util::Status verify_file(const KeyCommandContext& ctx, const std::string& node_url,
                         const std::string& file);

// Checks the proof in PROOF_FILE (the --json output of `imet query account|device|name|
// notarization`) against the header (hex of its canonical encoding, or a file holding it; empty:
// fetched from the node at the proof's height).
util::Status verify_proof(const KeyCommandContext& ctx, const std::string& node_url,
                          const std::string& proof_file, const std::string& header);

// BLAKE2b-256 of a file's contents, read in chunks; also returns its size.
util::Result<std::pair<crypto::Hash256, uint64_t>> hash_file(const std::string& path);

}  // namespace imet::wallet
