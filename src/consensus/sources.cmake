list(APPEND CONSENSUS_SOURCES chain_view.cpp)
