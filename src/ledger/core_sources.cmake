list(APPEND LEDGER_SOURCES amount.cpp params.cpp transaction.cpp state.cpp state_view.cpp apply.cpp
  genesis.cpp block.cpp block_apply.cpp mempool.cpp state_root.cpp pod.cpp vote.cpp delegates.cpp
  schedule.cpp consensus_apply.cpp)
