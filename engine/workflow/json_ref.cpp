#include "engine/workflow/json_ref.hpp"

#include <utility>

namespace wfe::workflow {

json_ref::json_ref(boost::json::value v)
    : p_(v.is_null() ? nullptr : std::make_shared<const boost::json::value>(std::move(v))) {}

const boost::json::value& json_ref::null() noexcept {
  static const boost::json::value v;
  return v;
}

}  // namespace wfe::workflow
