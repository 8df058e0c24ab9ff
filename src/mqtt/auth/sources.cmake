# MQTT authentication and authorization: mosquitto password files and ACL files, device-key
# tokens, and the Authenticator the broker calls (docs/mqtt-auth.md).
list(APPEND MQTT_SOURCES auth/encoding.cpp auth/password_file.cpp auth/acl.cpp
     auth/device_token.cpp auth/authenticator.cpp)
