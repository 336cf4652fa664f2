#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

std::string_view to_string(task_priority p) {
  switch (p) {
    case task_priority::high:
      return "high";
    case task_priority::normal:
      return "normal";
    case task_priority::low:
      return "low";
  }
  return "normal";
}

bool parse_priority(std::string_view s, task_priority& out) {
  if (s == "high") {
    out = task_priority::high;
  } else if (s == "normal") {
    out = task_priority::normal;
  } else if (s == "low") {
    out = task_priority::low;
  } else {
    return false;
  }
  return true;
}

}  // namespace wfe::workflow
