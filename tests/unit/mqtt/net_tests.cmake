# Unit tests of the MQTT transports (src/mqtt/net): the WebSocket upgrade check and the TLS
# context and transport (certificates and contexts from tls_test_util.h). End-to-end tests with
# real clients: tests/functional/test_mqtt_tls_ws.py.
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/net_ws_upgrade_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/net_tls_test.cpp)
