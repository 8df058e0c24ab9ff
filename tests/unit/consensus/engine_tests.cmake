# Engine tests run against the real node::Chain over store::MemoryStore.
list(APPEND CONSENSUS_TEST_SOURCES engine_test.cpp engine_evidence_test.cpp)
list(APPEND CONSENSUS_TEST_DEPS imet_node imet_store)
