# Sources of the MQTT packet codec (pure: no I/O, no threads). Included by src/mqtt/CMakeLists.txt.
list(APPEND MQTT_SOURCES
  codec/codec.cpp
  codec/connect_codec.cpp
  codec/control_codec.cpp
  codec/decode_error.cpp
  codec/framing.cpp
  codec/properties.cpp
  codec/publish_codec.cpp
  codec/reason_code.cpp
  codec/shared_bytes.cpp
  codec/subscribe_codec.cpp
  codec/types.cpp
  codec/wire.cpp
)
