# Sources of the net layer (paths relative to src/net).
list(APPEND NET_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/addr_book.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eviction.cpp
  ${CMAKE_CURRENT_LIST_DIR}/frame.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hello.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host_addr.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host_connect.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host_peers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/link.cpp
  ${CMAKE_CURRENT_LIST_DIR}/netgroup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/peer_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seen_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/types.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wire.cpp)
