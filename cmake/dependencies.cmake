# Every third-party library comes from Debian's packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(OpenSSL REQUIRED)  # https:// for the built-in http task and the API server
find_package(spdlog CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(pegtl CONFIG REQUIRED)
find_package(doctest CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)  # tests only: reads api/openapi.yaml
# jemalloc replaces glibc malloc in every binary (linked through wfe_core): glibc's
# arenas cost ~15-20 % of node CPU per workflow start under load (malloc_consolidate,
# _int_malloc/_int_free across the CAF, journal and HTTP threads; docs/ARCHITECTURE.md).
find_package(PkgConfig REQUIRED)
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
include(doctest)

# CAF 0.17 ships neither a CMake config nor a .pc file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
foreach(component core io)
  find_library(CAF_${component}_LIBRARY caf_${component} REQUIRED)
  add_library(caf::${component} UNKNOWN IMPORTED)
  set_target_properties(caf::${component} PROPERTIES
    IMPORTED_LOCATION "${CAF_${component}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
endforeach()
set_property(TARGET caf::core PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
set_property(TARGET caf::io PROPERTY INTERFACE_LINK_LIBRARIES caf::core)
