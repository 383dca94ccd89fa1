# Finds the ONNX Runtime that scripts/fetch-onnxruntime.sh places in the
# user's cache (npm's onnxruntime-node runtime with Microsoft's C/C++ API
# headers); ONNX Runtime ships no CMake or pkg-config files there. Looks in
# INFERLAB_ONNXRUNTIME_DIR (cache variable or environment), else
# ${XDG_CACHE_HOME:-~/.cache}/inferlab/sdk/onnxruntime-<version>.
# Defines InferlabOnnxRuntime_FOUND, InferlabOnnxRuntime_VERSION and the
# imported target inferlab::onnxruntime. The library is a versioned soname
# only (libonnxruntime.so.1): it is linked by full path, so the build RPATH
# points at its folder and nothing needs LD_LIBRARY_PATH.
set(_ort_version 1.31.1)
if(NOT INFERLAB_ONNXRUNTIME_DIR)
  if(DEFINED ENV{INFERLAB_ONNXRUNTIME_DIR})
    set(_ort_dir "$ENV{INFERLAB_ONNXRUNTIME_DIR}")
  elseif(DEFINED ENV{XDG_CACHE_HOME})
    set(_ort_dir "$ENV{XDG_CACHE_HOME}/inferlab/sdk/onnxruntime-${_ort_version}")
  else()
    set(_ort_dir "$ENV{HOME}/.cache/inferlab/sdk/onnxruntime-${_ort_version}")
  endif()
  set(INFERLAB_ONNXRUNTIME_DIR "${_ort_dir}" CACHE PATH "ONNX Runtime folder (lib/, include/) from scripts/fetch-onnxruntime.sh")
endif()
find_path(InferlabOnnxRuntime_INCLUDE_DIR onnxruntime_cxx_api.h PATHS "${INFERLAB_ONNXRUNTIME_DIR}/include" NO_DEFAULT_PATH)
find_file(InferlabOnnxRuntime_LIBRARY libonnxruntime.so.1 PATHS "${INFERLAB_ONNXRUNTIME_DIR}/lib" NO_DEFAULT_PATH)
if(InferlabOnnxRuntime_INCLUDE_DIR AND InferlabOnnxRuntime_LIBRARY)
  set(InferlabOnnxRuntime_VERSION ${_ort_version})
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(
  InferlabOnnxRuntime REQUIRED_VARS InferlabOnnxRuntime_LIBRARY InferlabOnnxRuntime_INCLUDE_DIR
  VERSION_VAR InferlabOnnxRuntime_VERSION)
if(InferlabOnnxRuntime_FOUND AND NOT TARGET inferlab::onnxruntime)
  add_library(inferlab::onnxruntime SHARED IMPORTED)
  set_target_properties(inferlab::onnxruntime PROPERTIES IMPORTED_LOCATION "${InferlabOnnxRuntime_LIBRARY}"
                        IMPORTED_SONAME libonnxruntime.so.1
                        INTERFACE_INCLUDE_DIRECTORIES "${InferlabOnnxRuntime_INCLUDE_DIR}")
endif()
