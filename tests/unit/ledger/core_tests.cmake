list(APPEND LEDGER_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/amount_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/transaction_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/apply_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/apply_property_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/genesis_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/block_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/mempool_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/pod_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/consensus_state_test.cpp)
