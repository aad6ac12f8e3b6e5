# Helpers that keep every context's CMakeLists short and alike (STYLE.md §1, §7, §8).
include_guard(GLOBAL)

# -Wno-missing-field-initializers: designated initialisers of option structs (STYLE.md §5) leave the rest
# at their defaults on purpose; GCC 12 warns on every one.
set(PANORAMA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)

# panorama_library(<context> SOURCES ... DEPS ...): static library panorama_<context>.
function(panorama_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(panorama_${name} STATIC ${ARG_SOURCES})
  target_include_directories(panorama_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(panorama_${name} PRIVATE ${PANORAMA_WARNINGS})
  target_link_libraries(panorama_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# panorama_test(<name> LABEL unit|integration|e2e SOURCES ... DEPS ...)
# A fixed, test-only master key in every test's environment, for servers and runtimes the tests start (field
# encryption refuses to run without one). Tests of the no-key and wrong-key paths unset or override it.
set(PANORAMA_TEST_MASTER_KEY "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")

function(panorama_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PANORAMA_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS ${ARG_LABEL}
                       ENVIRONMENT "PANORAMA_MASTER_KEY=${PANORAMA_TEST_MASTER_KEY}"
                       WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()

# panorama_bench(<name> SOURCES ... DEPS ...): Google Benchmark program, smoke-run once by ctest.
function(panorama_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;SMOKE_ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PANORAMA_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(NOT ARG_SMOKE_ARGS)
    set(ARG_SMOKE_ARGS --benchmark_min_time=0.01)
  endif()
  add_test(NAME ${name}_smoke COMMAND ${name} ${ARG_SMOKE_ARGS})
  set_tests_properties(${name}_smoke PROPERTIES LABELS bench)
endfunction()
