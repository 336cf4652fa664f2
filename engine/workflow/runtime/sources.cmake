# The workflow runtime (engine/workflow/runtime, see README.md): the region/shard routing
# seam, the entity with its side effects, passivation, and start-up wake-up. Included
# from engine/workflow/CMakeLists.txt after wfe_workflow is defined.
target_sources(wfe_workflow PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/archive.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rehome.cpp
  ${CMAKE_CURRENT_LIST_DIR}/retention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/runtime_entity.cpp
  ${CMAKE_CURRENT_LIST_DIR}/runtime_settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workflow_region.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workflow_runtime.cpp
)
target_link_libraries(wfe_workflow PUBLIC prometheus-cpp::core caf::core)

wfe_add_tests(NAME wfe_runtime_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/archive.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/rehome.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/retention.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/shard_hash.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/workflow_region.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/workflow_runtime.test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/workflow_routes.test.cpp
  LIBS wfe_workflow wfe_api)
