# Unit tests of the state tree (src/ledger/smt). smt_behaviour_suite.h is shared with
# tests/unit/store/smt_node_store_test.cpp.
list(APPEND LEDGER_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/smt_hash_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/smt_node_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/smt_proof_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/smt_tree_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/smt_behaviour_test.cpp)
