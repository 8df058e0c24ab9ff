# Unit tests of MQTT authentication and authorization (src/mqtt/auth). Fixtures: auth_data/.
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/auth_password_file_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/auth_acl_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/auth_device_token_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/auth_authenticator_test.cpp)
