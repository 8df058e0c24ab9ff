# Sources of the MQTT broker: sessions, routing, durability, the per-connection protocol engine,
# listeners.
list(APPEND MQTT_SOURCES
  broker/auth_access.cpp
  broker/broker.cpp
  broker/connection.cpp
  broker/connection_connect.cpp
  broker/connection_drain.cpp
  broker/connection_publish.cpp
  broker/connection_read.cpp
  broker/connection_subscribe.cpp
  broker/connection_write.cpp
  broker/deadlines.cpp
  broker/persistence.cpp
  broker/server.cpp
  broker/session.cpp
)
