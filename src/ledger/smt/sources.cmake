# State tree (binary sparse Merkle tree) of the ledger layer: see docs/design/state-tree.md.
list(APPEND LEDGER_SOURCES
  smt/types.cpp
  smt/hash.cpp
  smt/node.cpp
  smt/node_store.cpp
  smt/memory_node_store.cpp
  smt/proof.cpp
  smt/tree.cpp)
