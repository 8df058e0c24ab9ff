// StateReader / StateOverlay: how the pure ledger reads and changes state without touching disk.
// A StateReader answers get(key); a StateOverlay layers uncommitted changes (puts and erases) over
// a base reader. Block application uses one overlay per block and a child overlay per transaction,
// merged into the block overlay only when the transaction applies in full, so a rejected
// transaction never half-applies. The store layer implements StateReader over RocksDB and writes a
// block overlay's changes() in one atomic batch. Typed helpers decode records (a record that does
// not decode is kCorruption: state is written only by this code).
// Thread-safety: not thread-safe; one owner. Invariants: an overlay never writes to its base; get()
// returns the overlay's own change for a key if any, else the base's value.
#pragma once

#include <map>
#include <optional>

#include "codec/serialize.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::ledger {

class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const = 0;
};

class StateOverlay final : public StateReader {
 public:
  using Changes = std::map<util::Bytes, std::optional<util::Bytes>>;  // nullopt = erased

  explicit StateOverlay(const StateReader* base) : base_(base) {}
  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override;
  void put(util::Bytes key, util::Bytes value) { changes_[std::move(key)] = std::move(value); }
  void erase(util::Bytes key) { changes_[std::move(key)] = std::nullopt; }
  // Applies this overlay's changes to `parent` (normally this overlay's base).
  void merge_into(StateOverlay& parent) const;
  const Changes& changes() const { return changes_; }

 private:
  const StateReader* base_;
  Changes changes_;
};

// An in-memory state (tests, simulation, and a fresh chain's genesis).
class MemoryState final : public StateReader {
 public:
  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override;
  void apply(const StateOverlay::Changes& changes);
  const std::map<util::Bytes, util::Bytes>& entries() const { return entries_; }

 private:
  std::map<util::Bytes, util::Bytes> entries_;
};

// Reads and decodes a record; nullopt if absent.
template <codec::Serde T>
util::Result<std::optional<T>> get_record(const StateReader& state, const util::Bytes& key) {
  IMET_ASSIGN_OR_RETURN(std::optional<util::Bytes> raw, state.get(key));
  if (!raw) return std::optional<T>();
  auto decoded = codec::decode<T>(*raw);
  if (!decoded.ok()) {
    return util::corruption("state record " + util::to_hex(key) +
                            " does not decode: " + decoded.status().message());
  }
  return std::optional<T>(std::move(decoded).value());
}

template <codec::Serde T>
void put_record(StateOverlay& state, util::Bytes key, const T& record) {
  state.put(std::move(key), codec::encode(record));
}

}  // namespace imet::ledger
