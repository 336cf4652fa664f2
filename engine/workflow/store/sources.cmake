# The workflow store (engine/workflow/store, see README.md): definition registry, workflow
# index (visibility, dead letters, timers), reconciliation, timer service. Included from
# engine/workflow/CMakeLists.txt after wfe_workflow is defined.
target_sources(wfe_workflow PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/definition_registry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/index_codec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reconcile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/store_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/store_settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/timer_service.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workflow_index.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workflow_index_actor.cpp
)

wfe_add_tests(NAME wfe_store_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/definition_registry.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/workflow_index.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/reconcile.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/timer_service.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/store_settings.test.cpp
  LIBS wfe_workflow)
