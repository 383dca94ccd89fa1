# inferlab_add_gtest_suites(TARGET PREFIX SOURCES <files...> [EXCLUDE <gtest pattern>]
#                           [LABELS <labels...>] [ENVIRONMENT <k=v...>])
#
# Registers one CTest test per GoogleTest suite of TARGET (named PREFIX<Suite>)
# instead of one per test case, as gtest_discover_tests() does. Every test
# process loads the whole executable (the unit tests' links libtorch, OpenCV,
# oneDNN and XNNPACK), so one process per case spent more time loading than
# testing: the 326 unit cases took 78 s at -j2 as one process each, 30 s as
# one per suite (measured on the 2-core Zen 4 VM). The suites are read from the
# sources (TEST, TEST_F, TEST_P lines); a last test, PREFIXunlisted, runs
# whatever those filters miss (a test declared some other way), so no case
# is ever left out. EXCLUDE (a gtest pattern, e.g. *RunsPrepared*) is taken
# out of every test here so it can be registered on its own. CMake re-reads
# the sources whenever one of them changes.
function(inferlab_add_gtest_suites target prefix)
  cmake_parse_arguments(ARG "" "EXCLUDE" "SOURCES;LABELS;ENVIRONMENT" ${ARGN})
  set(suites "")
  foreach(source IN LISTS ARG_SOURCES)
    file(STRINGS "${source}" lines REGEX "^[ \t]*TEST(_F|_P)?\\([ \t]*[A-Za-z0-9_]+[ \t]*,")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*TEST(_F|_P)?\\([ \t]*([A-Za-z0-9_]+)[ \t]*,.*" "\\2" suite "${line}")
      list(APPEND suites "${suite}")
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  list(SORT suites)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ARG_SOURCES})
  set(negative "")
  if(ARG_EXCLUDE)
    set(negative "-${ARG_EXCLUDE}")
  endif()
  set(listed "")
  foreach(suite IN LISTS suites)
    # A TEST_P suite's cases are named Instantiation/Suite.Case/N.
    set(filter "${suite}.*:*/${suite}.*")
    add_test(NAME ${prefix}${suite} COMMAND ${target} "--gtest_filter=${filter}${negative}")
    set_tests_properties(${prefix}${suite} PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${ARG_ENVIRONMENT}")
    string(APPEND listed "${filter}:")
  endforeach()
  if(ARG_EXCLUDE)
    string(APPEND listed "${ARG_EXCLUDE}")
  endif()
  add_test(NAME ${prefix}unlisted COMMAND ${target} "--gtest_filter=-${listed}")
  set_tests_properties(${prefix}unlisted PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${ARG_ENVIRONMENT}")
endfunction()
