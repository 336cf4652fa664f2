#include "api/http/http_types.hpp"

#include <boost/json.hpp>

namespace wfe::api {

std::string_view http_request::header(std::string_view lower_name) const {
  // The map is not transparent, so a lookup needs a std::string key.
  const auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string_view{} : std::string_view(it->second);
}

http_response http_response::error(unsigned status, std::string_view code,
                                   std::string_view message) {
  boost::json::object inner;
  inner["code"] = boost::json::string_view(code.data(), code.size());
  inner["message"] = boost::json::string_view(message.data(), message.size());
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return json(status, boost::json::serialize(outer));
}

http_response http_response::json(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

void responder::operator()(http_response r) const {
  if (!f_ || !called_) return;
  // exchange() makes "first caller wins" hold even when two threads race.
  if (called_->exchange(true, std::memory_order_acq_rel)) return;
  (*f_)(std::move(r));
}

}  // namespace wfe::api
