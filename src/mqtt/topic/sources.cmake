# Topic logic of the mqtt layer (pure: no I/O, threads or locks): validation, matching, the
# subscription trie and the retained-topic index. The tries are header-only templates.
list(APPEND MQTT_SOURCES topic/validation.cpp topic/matching.cpp)
