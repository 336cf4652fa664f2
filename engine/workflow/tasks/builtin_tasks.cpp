#include "engine/workflow/tasks/builtin_tasks.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "engine/workflow/placeholders.hpp"

namespace wfe::workflow {

namespace json = boost::json;

namespace {

using core::unexpected;

unexpected<task_result> invalid(std::string message) {
  return unexpected{task_result::failure(std::string(k_invalid_input), std::move(message))};
}

// A non-negative integer field; `present` false when absent.
task_input<std::int64_t> read_count(const json::object& o, std::string_view task,
                                    std::string_view field, bool& present) {
  const auto* v = o.if_contains(field);
  present = v != nullptr;
  if (v == nullptr) return std::int64_t{0};
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    return invalid(std::string(task) + ": \"" + std::string(field) +
                   "\" must be a non-negative integer");
  }
  if (n < 0) {
    return invalid(std::string(task) + ": \"" + std::string(field) +
                   "\" must be a non-negative integer");
  }
  return n;
}

const json::object* as_object(const json::value& input) {
  return input.is_object() ? &input.get_object() : nullptr;
}

// RFC 9110 token: 1 or more tchar.
bool is_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || extra.find(c) != std::string_view::npos;
  });
}

// RFC 9110 field value: visible characters, space, tab and obs-text; no CR, LF or NUL.
bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool is_reserved_http_header(std::string_view name) {
  static constexpr std::array<std::string_view, 9> reserved{
      "Host",    "Content-Length", "Transfer-Encoding", "Connection",      "Keep-Alive",
      "Upgrade", "TE",             "Trailer",           "Proxy-Connection"};
  return std::any_of(reserved.begin(), reserved.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

bool parse_builtin(std::string_view task, builtin_task& out) {
  if (task == "noop") {
    out = builtin_task::noop;
  } else if (task == "sleep") {
    out = builtin_task::sleep;
  } else if (task == "fail") {
    out = builtin_task::fail;
  } else if (task == "http") {
    out = builtin_task::http;
  } else {
    return false;
  }
  return true;
}

task_input<std::chrono::milliseconds> parse_sleep_input(const json::value& input,
                                                        std::chrono::milliseconds max) {
  const auto* o = as_object(input);
  if (o == nullptr) return invalid("sleep: input must be an object {\"ms\":N}");
  bool present = false;
  auto ms = read_count(*o, "sleep", "ms", present);
  if (!ms) return unexpected{std::move(ms).error()};
  if (!present) return invalid("sleep: \"ms\" is required");
  if (*ms > max.count()) {
    return invalid("sleep: \"ms\" must be at most " + std::to_string(max.count()));
  }
  return std::chrono::milliseconds(*ms);
}

task_input<std::int64_t> parse_fail_input(const json::value& input) {
  const auto* o = as_object(input);
  if (o == nullptr) return invalid("fail: input must be an object {\"times\":N}");
  bool present = false;
  auto times = read_count(*o, "fail", "times", present);
  if (!times) return times;
  if (!present) return invalid("fail: \"times\" is required");
  return times;
}

task_result run_fail(const json::value& input, std::uint32_t attempt) {
  auto times = parse_fail_input(input);
  if (!times) return std::move(times).error();
  if (static_cast<std::int64_t>(attempt) <= *times) {
    return task_result::failure("fail", "attempt " + std::to_string(attempt) + " of " +
                                            std::to_string(*times) + " failing attempts");
  }
  return task_result::success(json::object{{"attempt", attempt}});
}

task_input<http_task_input> parse_http_input(const json::value& input, const task_settings& s) {
  const auto* o = as_object(input);
  if (o == nullptr) return invalid("http: input must be an object {\"url\":...}");
  http_task_input in;
  const auto* url = o->if_contains("url");
  if (url == nullptr || !url->is_string()) return invalid("http: \"url\" (a string) is required");
  if (auto bad = set_http_url(in, url->get_string())) return invalid(std::move(*bad));

  in.method = "GET";
  if (const auto* m = o->if_contains("method")) {
    if (!m->is_string()) return invalid("http: \"method\" must be a string");
    in.method = std::string(m->get_string());
    std::transform(in.method.begin(), in.method.end(), in.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    static constexpr std::array<std::string_view, 6> k_methods{"GET",   "POST",   "PUT",
                                                               "PATCH", "DELETE", "HEAD"};
    if (std::find(k_methods.begin(), k_methods.end(), in.method) == k_methods.end()) {
      return invalid("http: unsupported \"method\" " + in.method.substr(0, 16));
    }
  }
  if (const auto* b = o->if_contains("body"); b != nullptr && !b->is_null()) {
    if (b->is_string()) {
      in.body = std::string(b->get_string());
      in.content_type = "text/plain; charset=utf-8";
    } else {
      in.body = json::serialize(*b);
      in.content_type = "application/json";
    }
  }
  in.timeout = s.http_timeout_default;
  bool present = false;
  auto t = read_count(*o, "http", "timeoutMs", present);
  if (!t) return unexpected{std::move(t).error()};
  if (present) {
    if (*t < 1 || *t > s.http_timeout_max.count()) {
      return invalid("http: \"timeoutMs\" must be between 1 and " +
                     std::to_string(s.http_timeout_max.count()));
    }
    in.timeout = std::chrono::milliseconds(*t);
  }
  if (const auto* f = o->if_contains("followRedirects")) {
    if (!f->is_bool()) return invalid("http: \"followRedirects\" must be a boolean");
    in.follow_redirects = f->get_bool();
  }
  if (const auto* f = o->if_contains("responseHeaders")) {
    if (!f->is_bool()) return invalid("http: \"responseHeaders\" must be a boolean");
    in.response_headers = f->get_bool();
  }
  if (const auto* h = o->if_contains("headers"); h != nullptr && !h->is_null()) {
    if (!h->is_object()) return invalid("http: \"headers\" must be an object of strings");
    std::uint64_t bytes = 0;
    for (const auto& [name, value] : h->get_object()) {
      const auto shown = std::string(name.substr(0, 64));
      if (!is_token(name)) return invalid("http: header name \"" + shown + "\" is not a token");
      if (is_reserved_http_header(name)) {
        return invalid("http: header \"" + shown + "\" is set by the client itself");
      }
      if (!value.is_string()) return invalid("http: header \"" + shown + "\" must be a string");
      const auto& v = value.get_string();
      if (!is_field_value(v)) {
        return invalid("http: header \"" + shown + "\" has a control character in its value");
      }
      bytes += name.size() + v.size();
      if (bytes > s.http_max_request_headers_bytes) {
        return invalid("http: \"headers\" exceed pekko.workflow.tasks.http.max-request-headers-size (" +
                       std::to_string(s.http_max_request_headers_bytes) + " bytes)");
      }
      in.headers.emplace_back(std::string(name), std::string(v));
    }
  }
  return in;
}

namespace {

// An http input as check_builtin_input checks it: each value holding a placeholder left
// out (a "url" replaced by a valid one, a header's value by "x"), as its type and text are
// known only once resolved; everything else as given.
json::value without_placeholders(const json::object& in) {
  json::object out;
  for (const auto& [key, value] : in) {
    if (!has_placeholders(value)) {
      out[key] = value;
    } else if (key == "url") {
      out[key] = "http://placeholder.invalid/";
    } else if (key == "headers" && value.is_object()) {
      json::object headers;
      for (const auto& [name, v] : value.get_object()) {
        headers[name] = has_placeholders(v) ? json::value("x") : v;
      }
      out[key] = std::move(headers);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> check_builtin_input(std::string_view task, const json::value& input,
                                               const task_settings& s) {
  builtin_task b{};
  if (!parse_builtin(task, b)) return std::nullopt;
  const auto reason = [](const task_result& r) { return r.message; };
  switch (b) {
    case builtin_task::noop:
      return std::nullopt;
    case builtin_task::sleep:
      if (auto ms = parse_sleep_input(input, s.sleep_max); !ms) return reason(ms.error());
      return std::nullopt;
    case builtin_task::fail:
      if (auto times = parse_fail_input(input); !times) return reason(times.error());
      return std::nullopt;
    case builtin_task::http: {
      const auto* o = as_object(input);
      auto in = parse_http_input(o == nullptr ? input : without_placeholders(*o), s);
      if (!in) return reason(in.error());
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> set_http_url(http_task_input& in, std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "http: \"url\" is not a valid URL: " + std::string(url.substr(0, 256));
  const auto& u = *parsed;
  if (u.scheme() != "http" && u.scheme() != "https") {
    return "http: \"url\" must start with http:// or https://";
  }
  if (u.encoded_host_address().empty()) return "http: \"url\" has no host";
  if (u.has_userinfo()) return "http: credentials in the URL are not supported";
  if (u.has_port() && u.port_number() == 0) return "http: bad port in \"url\"";
  in.url = std::string(url);
  in.tls = u.scheme() == "https";
  in.host = std::string(u.encoded_host_address());
  in.port = u.has_port() ? std::string(u.port()) : (in.tls ? "443" : "80");
  in.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) in.target += "?" + std::string(u.encoded_query());
  return std::nullopt;
}

task_result http_result(unsigned status, std::string_view body, std::optional<json::object> headers,
                        std::size_t max_failure_body) {
  json::object out{{"status", status}};
  if (status >= 400 && body.size() > max_failure_body) {
    auto cut = max_failure_body;
    while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
    out["body"] = json::string(body.substr(0, cut));
    out["bodyTruncated"] = true;
    out["bodyBytes"] = body.size();
  } else {
    boost::system::error_code ec;
    json::value parsed = body.empty() ? json::value(json::string()) : json::parse(body, ec);
    if (ec) parsed = json::string(body);
    out["body"] = std::move(parsed);
  }
  if (headers) out["headers"] = std::move(*headers);
  if (status >= 400) {
    auto r = task_result::failure(status >= 500 ? "http_5xx" : "http_4xx",
                                  "http: status " + std::to_string(status));
    r.output = std::move(out);
    return r;
  }
  return task_result::success(std::move(out));
}

}  // namespace wfe::workflow
