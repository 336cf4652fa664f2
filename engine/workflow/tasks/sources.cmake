# Task execution (engine/workflow/tasks/, see its README.md): the dispatcher actor,
# built-in tasks, the C++ handler registry and their settings. Compiled into
# wfe_workflow; included from engine/workflow/CMakeLists.txt after add_library.
set(_wfe_tasks_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(wfe_workflow PRIVATE
  ${_wfe_tasks_dir}/builtin_tasks.cpp
  ${_wfe_tasks_dir}/http_task.cpp
  ${_wfe_tasks_dir}/task_dispatcher.cpp
  ${_wfe_tasks_dir}/task_handlers.cpp
  ${_wfe_tasks_dir}/task_metrics.cpp
  ${_wfe_tasks_dir}/task_protocol.cpp
  ${_wfe_tasks_dir}/task_settings.cpp
)
target_link_libraries(wfe_workflow PRIVATE Boost::headers Boost::url OpenSSL::SSL OpenSSL::Crypto
                                           Threads::Threads)

# Real actors, real sockets: the routes are tested here too (api/task_routes.cpp).
wfe_add_tests(NAME wfe_tasks_tests
  SOURCES ${_wfe_tasks_dir}/builtin_tasks.test.cpp ${_wfe_tasks_dir}/priority_queues.test.cpp
          ${_wfe_tasks_dir}/http_task.test.cpp
          ${_wfe_tasks_dir}/task_dispatcher.test.cpp ${_wfe_tasks_dir}/task_parking.test.cpp
          ${_wfe_tasks_dir}/task_routes.test.cpp
          ${_wfe_tasks_dir}/task_settings.test.cpp
  LIBS wfe_workflow wfe_api Boost::headers Boost::json OpenSSL::SSL OpenSSL::Crypto)
