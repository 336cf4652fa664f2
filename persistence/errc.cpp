#include "persistence/errc.hpp"

namespace wfe::persistence {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::sequence_conflict:
      return "sequence_conflict";
    case errc::corruption:
      return "corruption";
    case errc::io_error:
      return "io_error";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::unavailable:
      return "unavailable";
    case errc::locked:
      return "locked";
    case errc::not_empty:
      return "not_empty";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string error::describe() const { return std::string(to_string(code)) + ": " + message; }

}  // namespace wfe::persistence
