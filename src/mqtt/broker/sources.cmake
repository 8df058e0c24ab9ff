# Sources of the MQTT broker: sessions, routing, durability, the per-connection protocol engine,
# listeners.
list(APPEND MQTT_SOURCES
  broker/auth_access.cpp
  broker/broker.cpp
  broker/connection.cpp
  broker/deadlines.cpp
  broker/persistence.cpp
  broker/server.cpp
  broker/session.cpp
)
