# threadline_cc_library / threadline_cc_test_library / threadline_cc_test:
# one target per library with an explicit source list (no globbing),
# warnings as errors for project code.

set(THREADLINE_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)

function(threadline_cc_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${THREADLINE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_property(GLOBAL APPEND PROPERTY THREADLINE_PRODUCTION_TARGETS ${name})
endfunction()

# threadline_cc_test_library(name [SRCS ...] DEPS ...): helpers only tests
# link (Abseil's TESTONLY). Its headers sit in its own include/ directory,
# outside every production library's include tree; without SRCS it is
# header-only. A production library or binary that links one fails to
# configure (threadline_check_test_only below).
function(threadline_cc_test_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  if(ARG_SRCS)
    add_library(${name} STATIC ${ARG_SRCS})
    target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                       PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_compile_options(${name} PRIVATE ${THREADLINE_WARNINGS})
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
  threadline_mark_test_only(${name})
endfunction()

function(threadline_mark_test_only name)
  set_property(GLOBAL APPEND PROPERTY THREADLINE_TEST_ONLY_TARGETS ${name})
endfunction()

# Runs once every directory is configured.
function(threadline_check_test_only)
  get_property(test_only GLOBAL PROPERTY THREADLINE_TEST_ONLY_TARGETS)
  get_property(production GLOBAL PROPERTY THREADLINE_PRODUCTION_TARGETS)
  foreach(target IN LISTS production ITEMS threadline threadctl threadline-demo)
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(deps ${target} LINK_LIBRARIES)
    foreach(dep IN LISTS deps)
      if(dep IN_LIST test_only)
        message(FATAL_ERROR "${target} links ${dep}, which only tests may link")
      endif()
    endforeach()
  endforeach()
endfunction()
cmake_language(DEFER CALL threadline_check_test_only)

# threadline_cc_test(name SRCS ... DEPS ... [LABELS ...] [FIXTURES ...] [TIMEOUT s])
function(threadline_cc_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${THREADLINE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock
                                        threadline_testing GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
endfunction()
