# Unit tests of the mqtt topic logic (validation, matching, SubscriptionTree, RetainedIndex).
list(APPEND MQTT_TEST_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_validation_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_matching_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_subscription_tree_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_retained_index_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_random_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/topic_containers_test.cpp)
