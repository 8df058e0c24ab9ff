# Unit tests of the MQTT broker core (src/mqtt/broker): the session state machine, routing and the
# session life cycle in the Broker (sessions driven through open_session with RecordingSinks, no
# sockets), persistence over MemoryStore and RocksStore, and session takeover by Connections over
# loopback sockets (broker_takeover_test.cpp: plain TCP; broker_takeover_stream_test.cpp: TLS,
# WebSocket and WebSocket over TLS). Shared helpers: broker_test_util.h, the broker_*_fixture.h
# headers, takeover_test_util.h (the takeover tests) and tls_test_util.h (TLS set-up). End-to-end
# tests with real clients: tests/functional/test_mqtt_broker.py, test_mqtt_durability.py and
# test_mqtt_shutdown_reload.py.
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_session_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_session_resume_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_routing_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_batch_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_lifecycle_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_takeover_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_takeover_stream_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_persistence_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_restart_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_idle_memory_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_deadlines_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_server_teardown_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_direct_write_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/broker_hostile_test.cpp)
