# Unit tests of the MQTT broker core (src/mqtt/broker): the session state machine, routing in the
# Broker (sessions driven through open_session with recording sinks, no sockets) and persistence
# over MemoryStore and RocksStore. End-to-end tests with real clients:
# tests/functional/test_mqtt_broker.py and test_mqtt_durability.py.
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_session_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_routing_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_persistence_test.cpp)
