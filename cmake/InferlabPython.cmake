# INFERLAB_WITH_PYTHON_BACKENDS=AUTO|ON|OFF: the Python-worker backends (jax,
# openvino). They link nothing of their frameworks, so AUTO always builds them
# and each row says "unsupported" with the install command while the project
# environment is missing; ON also requires the environment at configure time.
# Sets INFERLAB_HAVE_PYTHON_BACKENDS, INFERLAB_PYTHON_BACKENDS_STATUS and
# INFERLAB_PYTHON_LOCK_HASH (the environment's name, as setup-python-venv.sh computes it).
set(_lock ${PROJECT_SOURCE_DIR}/python/requirements.lock)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_lock})
file(SHA256 ${_lock} _lock_sha)
string(SUBSTRING "${_lock_sha}" 0 16 INFERLAB_PYTHON_LOCK_HASH)
string(TOUPPER "${INFERLAB_WITH_PYTHON_BACKENDS}" _py_mode)
if(NOT _py_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "INFERLAB_WITH_PYTHON_BACKENDS must be AUTO, ON or OFF (got '${_py_mode}')")
endif()
if(DEFINED ENV{INFERLAB_PYTHON_VENV})
  set(_venv "$ENV{INFERLAB_PYTHON_VENV}")
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(_venv "$ENV{XDG_CACHE_HOME}/inferlab/venv-${INFERLAB_PYTHON_LOCK_HASH}")
else()
  set(_venv "$ENV{HOME}/.cache/inferlab/venv-${INFERLAB_PYTHON_LOCK_HASH}")
endif()
if(_py_mode STREQUAL "OFF")
  set(INFERLAB_HAVE_PYTHON_BACKENDS FALSE)
  set(INFERLAB_PYTHON_BACKENDS_STATUS "left out: INFERLAB_WITH_PYTHON_BACKENDS=OFF")
elseif(EXISTS "${_venv}/.inferlab-complete")
  set(INFERLAB_HAVE_PYTHON_BACKENDS TRUE)
  set(INFERLAB_PYTHON_BACKENDS_STATUS "built")
elseif(_py_mode STREQUAL "ON")
  message(FATAL_ERROR "INFERLAB_WITH_PYTHON_BACKENDS=ON but the Python environment ${_venv} is missing: run scripts/setup-python-venv.sh")
else()
  set(INFERLAB_HAVE_PYTHON_BACKENDS TRUE)
  set(INFERLAB_PYTHON_BACKENDS_STATUS "built (Python environment not installed yet: scripts/setup-python-venv.sh)")
  message(STATUS "Python backends: environment ${_venv} missing; rows will be unsupported until scripts/setup-python-venv.sh runs")
endif()
