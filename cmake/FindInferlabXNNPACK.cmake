# Finds XNNPACK (Debian's libxnnpack-dev) and the pthreadpool it runs on
# (libpthreadpool-dev) by their headers and libraries: Debian ships no CMake
# or pkg-config files for either. Defines InferlabXNNPACK_FOUND and the
# imported target inferlab::xnnpack (XNNPACK with pthreadpool as its
# interface dependency: inferlab calls pthreadpool_create itself).
find_path(InferlabXNNPACK_INCLUDE_DIR xnnpack.h)
find_path(InferlabXNNPACK_PTHREADPOOL_INCLUDE_DIR pthreadpool.h)
find_library(InferlabXNNPACK_LIBRARY NAMES XNNPACK xnnpack)
find_library(InferlabXNNPACK_PTHREADPOOL_LIBRARY NAMES pthreadpool)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(
  InferlabXNNPACK REQUIRED_VARS InferlabXNNPACK_LIBRARY InferlabXNNPACK_INCLUDE_DIR
                                InferlabXNNPACK_PTHREADPOOL_LIBRARY InferlabXNNPACK_PTHREADPOOL_INCLUDE_DIR)
if(InferlabXNNPACK_FOUND AND NOT TARGET inferlab::xnnpack)
  add_library(inferlab::pthreadpool UNKNOWN IMPORTED)
  set_target_properties(inferlab::pthreadpool PROPERTIES IMPORTED_LOCATION "${InferlabXNNPACK_PTHREADPOOL_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${InferlabXNNPACK_PTHREADPOOL_INCLUDE_DIR}")
  add_library(inferlab::xnnpack UNKNOWN IMPORTED)
  set_target_properties(inferlab::xnnpack PROPERTIES IMPORTED_LOCATION "${InferlabXNNPACK_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${InferlabXNNPACK_INCLUDE_DIR}"
                        INTERFACE_LINK_LIBRARIES inferlab::pthreadpool)
endif()
