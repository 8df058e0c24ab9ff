# Layer targets. Each layer is one folder under src/, one static library `imet_<layer>` and one
# namespace `imet::<layer>`. A layer's headers are reachable only through its target: the include
# root of layer L is ${CMAKE_BINARY_DIR}/layers/L, which holds a single symlink L -> src/L, and a
# target gets that root only by linking imet_L. So `#include "ledger/x.h"` from a layer that does not
# link imet_ledger fails to compile; tests/layering proves it.

add_library(imet_warnings INTERFACE)
target_compile_options(imet_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                               -Wold-style-cast -Wcast-align
                                               -Wimplicit-fallthrough)
if(IMET_WERROR)
  target_compile_options(imet_warnings INTERFACE -Werror)
endif()

function(imet_layer_include_root layer out)
  set(root "${CMAKE_BINARY_DIR}/layers/${layer}")
  if(NOT EXISTS "${root}/${layer}")
    file(MAKE_DIRECTORY "${root}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/src/${layer}" "${root}/${layer}" SYMBOLIC)
  endif()
  set(${out} "${root}" PARENT_SCOPE)
endfunction()

# imet_layer(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# PUBLIC_DEPS: lower layers / libraries whose types appear in this layer's headers.
function(imet_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(imet_${name} STATIC ${L_SOURCES})
  imet_layer_include_root(${name} root)
  target_include_directories(imet_${name} PUBLIC "${root}")
  target_link_libraries(imet_${name} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS} imet_warnings)
endfunction()
