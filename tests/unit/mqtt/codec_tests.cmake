# Unit tests of the MQTT packet codec (src/mqtt/codec). Included by CMakeLists.txt in this folder.
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_connect_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_control_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_corpus_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_properties_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_publish_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_roundtrip_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_subscribe_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/codec_wire_test.cpp)
