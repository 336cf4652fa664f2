#include "api/http/http_types.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

namespace wfe::api {

std::string_view http_request::header(std::string_view lower_name) const {
  // The map is not transparent, so a lookup needs a std::string key.
  const auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string_view{} : std::string_view(it->second);
}

namespace {

// RFC 3986 pchar without pct-encoded, plus '/': unreserved, sub-delims, ':' and '@'.
constexpr bool plain_path_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool parse_target(std::string_view target, std::string& path,
                  std::unordered_map<std::string, std::string>* query) {
  if (!target.empty() && target.front() == '/' &&
      std::all_of(target.begin(), target.end(), plain_path_char)) {
    path.assign(target);
    return true;
  }
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return false;
  path = url->path();
  if (query != nullptr) {
    for (const auto& p : url->params()) query->emplace(p.key, p.value);  // first one wins
  }
  return true;
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
