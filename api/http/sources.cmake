# Owned by the HTTP server work; included from api/CMakeLists.txt.
set(WFE_HTTP_SOURCES
  http/http_types.cpp
  http/router.cpp
  http/server_metrics.cpp
  http/http_connection.cpp
  http/http_server.cpp
  http/metrics_route.cpp
  http/bearer_auth.cpp
)
set(WFE_HTTP_TESTS
  http/http_types.test.cpp
  http/router.test.cpp
  http/http_server.test.cpp
  http/http_server_limits.test.cpp
  http/bearer_auth.test.cpp
)
