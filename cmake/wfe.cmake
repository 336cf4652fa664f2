# Helpers shared by every module.

# One doctest main, compiled once for every test binary.
add_library(wfe_doctest_main OBJECT ${CMAKE_SOURCE_DIR}/tests/doctest_main.cpp)
target_link_libraries(wfe_doctest_main PUBLIC doctest::doctest)

# wfe_add_tests(NAME <exe> SOURCES <*.test.cpp...> LIBS <libs...> [PROPERTIES <k v...>])
# Builds one test binary per module and registers each test case with CTest;
# PROPERTIES (e.g. TIMEOUT, SKIP_REGULAR_EXPRESSION) apply to each of its tests.
# A CTest entry whose filter matches no test case fails (doctest would report 0 test
# cases and exit 0): a name CTest cannot carry, such as one with ';', is caught at once.
function(wfe_add_tests)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES} $<TARGET_OBJECTS:wfe_doctest_main>)
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} doctest::doctest)
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_definitions(${T_NAME} PRIVATE WFE_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  doctest_discover_tests(${T_NAME} WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
                         PROPERTIES FAIL_REGULAR_EXPRESSION "test cases: +0 [|]" ${T_PROPERTIES})
endfunction()
