#include "engine/core/address.hpp"

#include <charconv>

namespace wfe::core {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Host names and IPv4 literals; IPv6 literals come in brackets ("[::1]").
bool is_valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[') return h.size() > 2 && h.back() == ']';
  for (char c : h) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

std::optional<address> fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return std::nullopt;
}

}  // namespace

bool is_valid_system_name(std::string_view name) {
  if (name.empty() || !is_alnum(name.front())) return false;
  for (char c : name) {
    if (!is_alnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string address::to_string() const {
  return "pekko://" + system + "@" + host + ":" + std::to_string(port);
}

std::optional<address> address::parse(std::string_view text, std::string* why) {
  constexpr std::string_view scheme = "pekko://";
  if (!text.starts_with(scheme)) {
    return fail(why, "expected an address like pekko://<system>@<host>:<port>, got \"" +
                         std::string(text) + "\"");
  }
  auto rest = text.substr(scheme.size());
  auto at = rest.find('@');
  if (at == std::string_view::npos) return fail(why, "missing '@' between system and host");
  address a;
  a.system = std::string(rest.substr(0, at));
  if (!is_valid_system_name(a.system)) {
    return fail(why, "invalid actor system name \"" + a.system + "\"");
  }
  auto hostport = rest.substr(at + 1);
  auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) return fail(why, "missing ':<port>' after the host");
  auto host = hostport.substr(0, colon);
  auto port = hostport.substr(colon + 1);
  if (!is_valid_host(host)) return fail(why, "invalid host \"" + std::string(host) + "\"");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    return fail(why, "invalid port \"" + std::string(port) + "\" (1-65535)");
  }
  a.host = std::string(host);
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

}  // namespace wfe::core
