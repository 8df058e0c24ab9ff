// The state tree's behaviour suite (smt_behaviour_suite.h) over the in-memory MemoryNodeStore.
#include "ledger/smt/memory_node_store.h"
#include "smt_behaviour_suite.h"

namespace imet::ledger::smt::testing {
namespace {

struct MemoryBackend {
  static constexpr int kRandomRounds = 1500;
  NodeStore& store() { return store_; }
  size_t node_count() const { return store_.node_count(); }
  void reopen() {}
  MemoryNodeStore store_;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, SmtBehaviour, ::testing::Types<MemoryBackend>);

}  // namespace imet::ledger::smt::testing
