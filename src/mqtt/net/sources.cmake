# Sources of the MQTT transports (TCP; TLS and WebSocket).
list(APPEND MQTT_SOURCES
  net/readiness_socket.cpp
  net/tcp_transport.cpp
  net/tls_transport.cpp
  net/ws_transport.cpp
)
