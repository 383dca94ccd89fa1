# Finds oneDNN's headers and library directly. Debian's dnnl-config.cmake
# insists on the OpenCL SDK (its build enables the GPU runtime), which the
# CPU-only native engine does not need. Defines InferlabDNNL_FOUND and the
# imported target inferlab::dnnl.
find_path(InferlabDNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(InferlabDNNL_LIBRARY NAMES dnnl)
if(InferlabDNNL_INCLUDE_DIR AND EXISTS "${InferlabDNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h")
  file(STRINGS "${InferlabDNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h" _dnnl_version_lines
       REGEX "#define DNNL_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define DNNL_VERSION_${part} ([0-9]+).*" "\\1" _dnnl_${part} "${_dnnl_version_lines}")
  endforeach()
  set(InferlabDNNL_VERSION "${_dnnl_MAJOR}.${_dnnl_MINOR}.${_dnnl_PATCH}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(InferlabDNNL REQUIRED_VARS InferlabDNNL_LIBRARY InferlabDNNL_INCLUDE_DIR
                                  VERSION_VAR InferlabDNNL_VERSION)
if(InferlabDNNL_FOUND AND NOT TARGET inferlab::dnnl)
  add_library(inferlab::dnnl UNKNOWN IMPORTED)
  set_target_properties(inferlab::dnnl PROPERTIES IMPORTED_LOCATION "${InferlabDNNL_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${InferlabDNNL_INCLUDE_DIR}")
endif()
