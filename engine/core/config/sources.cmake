# Owned by the HOCON/config work; included from engine/core/CMakeLists.txt.
set(WFE_CONFIG_SOURCES
  config/config.cpp
  config/internal/include.cpp
  config/internal/parser.cpp
  config/internal/resolver.cpp
  config/internal/units.cpp
  config/internal/value.cpp
)
set(WFE_CONFIG_TESTS
  config/config.test.cpp
  config/config_getters.test.cpp
  config/config_include.test.cpp
  config/config_resolve.test.cpp
)
