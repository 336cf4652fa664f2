# Membership protocol (pure core: gossip, failure detection, downing), included from
# cluster/CMakeLists.txt.
set(WFE_MEMBERSHIP_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/member.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vector_clock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reachability.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gossip.cpp
  ${CMAKE_CURRENT_LIST_DIR}/phi_accrual.cpp
  ${CMAKE_CURRENT_LIST_DIR}/downing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_messages.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_core.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_events.cpp
)
set(WFE_MEMBERSHIP_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/member.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vector_clock.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reachability.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gossip.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/phi_accrual.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/downing.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_settings.test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/membership_core.test.cpp
)
