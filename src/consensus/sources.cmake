list(APPEND CONSENSUS_SOURCES chain_view.cpp messages.cpp signature_check.cpp vote_book.cpp
     engine.cpp)
