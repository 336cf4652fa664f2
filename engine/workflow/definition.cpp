#include "engine/workflow/definition.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include <boost/json.hpp>

#include "engine/workflow/placeholders.hpp"
#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

namespace json = boost::json;

namespace {

using core::unexpected;

unexpected<validation_error> invalid(std::string field, std::string message) {
  return unexpected<validation_error>{validation_error{std::move(field), std::move(message)}};
}

std::string step_label(std::size_t i, const std::string& name) {
  if (name.empty()) return "step #" + std::to_string(i);
  return "step '" + name + "'";
}

// Integer in [lo, hi]; doubles are accepted only when integral (1.0 from some encoders).
std::optional<std::int64_t> as_int(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9e15) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

struct context {
  std::string path;   // "steps[2]"
  std::string label;  // "step 'b'"
};

validated<std::int64_t> read_int(const json::object& o, std::string_view key, const context& c,
                                 std::int64_t lo, std::int64_t hi, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  const std::string field = c.path + "." + std::string(key);
  auto n = as_int(*v);
  if (!n) return invalid(field, c.label + ": " + std::string(key) + " must be an integer");
  if (*n < lo || *n > hi) {
    return invalid(field, c.label + ": " + std::string(key) + " must be between " +
                              std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                              std::to_string(*n));
  }
  return *n;
}

validated<std::vector<std::string>> read_strings(const json::object& o, std::string_view key,
                                                 const context& c, std::size_t max) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  const std::string field = c.path + "." + std::string(key);
  if (!v->is_array())
    return invalid(field, c.label + ": " + std::string(key) + " must be an array");
  const auto& arr = v->get_array();
  if (arr.size() > max) {
    return invalid(field, c.label + ": " + std::string(key) + " has more than " +
                              std::to_string(max) + " entries");
  }
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (!arr[i].is_string()) return invalid(f, c.label + ": entries must be strings");
    out.emplace_back(arr[i].get_string());
  }
  return out;
}

validated<retry_policy> parse_retry(const json::object& step, const context& sc) {
  retry_policy r;
  const auto* v = step.if_contains("retry");
  if (!v || v->is_null()) return r;
  const context c{sc.path + ".retry", sc.label};
  if (!v->is_object()) return invalid(c.path, sc.label + ": retry must be an object");
  const auto& o = v->get_object();
  auto attempts = read_int(o, "maxAttempts", c, 1, k_max_attempts_max, 3);
  if (!attempts) return unexpected{std::move(attempts).error()};
  auto initial = read_int(o, "initialIntervalMs", c, 1, k_interval_ms_max, r.initial_interval_ms);
  if (!initial) return unexpected{std::move(initial).error()};
  auto max =
      read_int(o, "maxIntervalMs", c, 1, k_interval_ms_max, std::max(*initial, r.max_interval_ms));
  if (!max) return unexpected{std::move(max).error()};
  if (*max < *initial) {
    return invalid(c.path + ".maxIntervalMs",
                   sc.label + ": maxIntervalMs must not be below initialIntervalMs");
  }
  if (const auto* b = o.if_contains("backoffCoefficient"); b && !b->is_null()) {
    if (!b->is_number()) {
      return invalid(c.path + ".backoffCoefficient",
                     sc.label + ": backoffCoefficient must be a number");
    }
    const double coef = b->to_number<double>();
    if (!std::isfinite(coef) || coef < 1.0 || coef > k_backoff_coefficient_max) {
      return invalid(c.path + ".backoffCoefficient",
                     sc.label + ": backoffCoefficient must be between 1 and 100");
    }
    r.backoff_coefficient = coef;
  }
  auto nr = read_strings(o, "nonRetryable", c, k_non_retryable_max);
  if (!nr) return unexpected{std::move(nr).error()};
  r.max_attempts = static_cast<std::uint32_t>(*attempts);
  r.initial_interval_ms = *initial;
  r.max_interval_ms = *max;
  r.non_retryable = std::move(*nr);
  return r;
}

validated<step_definition> parse_step(const json::value& v, std::size_t i,
                                      std::span<const std::string> known_tasks, bool check_tasks) {
  const std::string path = "steps[" + std::to_string(i) + "]";
  if (!v.is_object()) return invalid(path, "step #" + std::to_string(i) + " must be an object");
  const auto& o = v.get_object();
  step_definition s;
  const auto* name = o.if_contains("name");
  if (!name || !name->is_string())
    return invalid(path + ".name", "step #" + std::to_string(i) + ": name is required");
  auto id = check_id(name->get_string(), path + ".name");
  if (!id) return unexpected{std::move(id).error()};
  s.name = std::move(*id);
  const context c{path, step_label(i, s.name)};
  const auto* task = o.if_contains("task");
  if (!task || !task->is_string()) return invalid(path + ".task", c.label + ": task is required");
  s.task = std::string(task->get_string());
  if (s.task.starts_with(k_external_task_prefix)) {
    // "queue:<name>": served by external workers polling queue <name> (task_protocol.hpp).
    if (!is_valid_id(std::string_view(s.task).substr(k_external_task_prefix.size()))) {
      return invalid(path + ".task", c.label + ": external task queue in '" + s.task.substr(0, 64) +
                                         "' must be 1-256 bytes of [A-Za-z0-9._:-]");
    }
  } else if (check_tasks && !runs_no_task(s) &&
             std::find(known_tasks.begin(), known_tasks.end(), s.task) == known_tasks.end()) {
    return invalid(path + ".task", c.label + ": unknown task type '" + s.task.substr(0, 64) + "'");
  }
  if (const auto* in = o.if_contains("input")) {
    if (json_larger_than(*in, k_step_input_bytes_max)) {
      return invalid(path + ".input", c.label + ": input is larger than " +
                                          std::to_string(k_step_input_bytes_max) + " bytes");
    }
    s.input = *in;
  }
  if (s.task == k_signal_task && awaited_signal(s).empty()) {
    return invalid(path + ".input.name",
                   c.label +
                       ": a signal step waits for the signal named by input.name, 1-256 "
                       "bytes of [A-Za-z0-9._:-]");
  }
  auto deps = read_strings(o, "dependsOn", c, k_depends_on_max);
  if (!deps) return unexpected{std::move(deps).error()};
  s.depends_on = std::move(*deps);
  if (s.task == k_timer_task) {
    if (auto bad = check_timer_input(s)) return invalid(path + ".input", c.label + ": " + *bad);
  }
  // At registration (a stored definition is loaded as it was accepted).
  if (check_tasks && s.task == "http") {
    if (auto bad = check_placeholders(*s.input, s.depends_on)) {
      return invalid(path + ".input", c.label + ": " + *bad);
    }
  }
  auto retry = parse_retry(o, c);
  if (!retry) return unexpected{std::move(retry).error()};
  s.retry = std::move(*retry);
  auto timeout = read_int(o, "timeoutMs", c, 0, k_timeout_ms_max, 0);
  if (!timeout) return unexpected{std::move(timeout).error()};
  s.timeout_ms = *timeout;
  return s;
}

// Depth-first search with colours; on a back edge, the cycle is the stack from the target.
std::optional<std::string> find_cycle(const std::vector<step_definition>& steps,
                                      const std::map<std::string, std::size_t>& index,
                                      std::size_t& at) {
  enum colour : std::uint8_t { white, grey, black };
  std::vector<colour> col(steps.size(), white);
  std::vector<std::size_t> stack;
  // Iterative: a 1000-step chain must not overflow the stack.
  for (std::size_t root = 0; root < steps.size(); ++root) {
    if (col[root] != white) continue;
    std::vector<std::pair<std::size_t, std::size_t>> work{{root, 0}};
    col[root] = grey;
    stack.push_back(root);
    while (!work.empty()) {
      auto& [node, next] = work.back();
      if (next == steps[node].depends_on.size()) {
        col[node] = black;
        stack.pop_back();
        work.pop_back();
        continue;
      }
      const std::size_t dep = index.at(steps[node].depends_on[next++]);
      if (col[dep] == grey) {
        std::string cycle;
        auto it = std::find(stack.begin(), stack.end(), dep);
        for (; it != stack.end(); ++it) cycle += steps[*it].name + " -> ";
        at = node;
        return cycle + steps[dep].name;
      }
      if (col[dep] == white) {
        col[dep] = grey;
        stack.push_back(dep);
        work.emplace_back(dep, 0);
      }
    }
  }
  return std::nullopt;
}

validated<bool> check_graph(const std::vector<step_definition>& steps) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!index.emplace(steps[i].name, i).second) {
      return invalid("steps[" + std::to_string(i) + "].name",
                     "duplicate step name '" + steps[i].name + "'");
    }
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& deps = steps[i].depends_on;
    for (std::size_t d = 0; d < deps.size(); ++d) {
      const std::string field =
          "steps[" + std::to_string(i) + "].dependsOn[" + std::to_string(d) + "]";
      if (!index.contains(deps[d])) {
        return invalid(field, "step '" + steps[i].name + "' depends on unknown step '" +
                                  deps[d].substr(0, 64) + "'");
      }
      if (std::find(deps.begin(), deps.begin() + static_cast<std::ptrdiff_t>(d), deps[d]) !=
          deps.begin() + static_cast<std::ptrdiff_t>(d)) {
        return invalid(field, "step '" + steps[i].name + "' lists '" + deps[d] + "' twice");
      }
    }
  }
  std::size_t at = 0;
  if (auto cycle = find_cycle(steps, index, at)) {
    return invalid("steps[" + std::to_string(at) + "].dependsOn",
                   "step '" + steps[at].name + "' is in a dependency cycle: " + *cycle);
  }
  return true;
}

validated<workflow_definition> parse_object(const json::value& body,
                                            std::span<const std::string> known_tasks,
                                            bool check_tasks) {
  if (!body.is_object()) return invalid("", "the definition must be a JSON object");
  const auto& o = body.get_object();
  workflow_definition def;
  const auto* name = o.if_contains("name");
  if (!name || !name->is_string()) return invalid("name", "name is required");
  auto id = check_id(name->get_string(), "name");
  if (!id) return unexpected{std::move(id).error()};
  def.name = std::move(*id);
  const auto* steps = o.if_contains("steps");
  if (!steps || !steps->is_array()) return invalid("steps", "steps must be an array");
  const auto& arr = steps->get_array();
  if (arr.empty()) return invalid("steps", "a workflow needs at least one step");
  if (arr.size() > k_steps_max) {
    return invalid("steps", "more than " + std::to_string(k_steps_max) + " steps");
  }
  def.steps.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto s = parse_step(arr[i], i, known_tasks, check_tasks);
    if (!s) return unexpected{std::move(s).error()};
    def.steps.push_back(std::move(*s));
  }
  auto graph = check_graph(def.steps);
  if (!graph) return unexpected{std::move(graph).error()};
  return def;
}

validated<json::value> parse_json(std::string_view body) {
  if (body.size() > k_definition_bytes_max) return invalid("", "the definition is too large");
  json::parse_options opts;
  opts.max_depth = 64;
  std::error_code ec;
  json::value v = json::parse(body, ec, {}, opts);
  if (ec) return invalid("", "malformed JSON: " + ec.message());
  return v;
}

}  // namespace

bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > k_id_bytes_max) return false;
  for (char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

validated<std::string> check_id(std::string_view id, std::string_view field) {
  if (is_valid_id(id)) return std::string(id);
  return invalid(std::string(field),
                 std::string(field) + " must be 1-256 bytes of [A-Za-z0-9._:-]");
}

validated<workflow_definition> parse_definition_value(const json::value& body,
                                                      std::span<const std::string> known_tasks,
                                                      const task_input_check& check_input) {
  try {
    auto def = parse_object(body, known_tasks, true);
    if (!def || !check_input) return def;
    for (std::size_t i = 0; i < def->steps.size(); ++i) {
      const auto& s = def->steps[i];
      if (auto bad = check_input(s.task, *s.input)) {
        return invalid("steps[" + std::to_string(i) + "].input",
                       step_label(i, s.name) + ": " + *bad);
      }
    }
    return def;
  } catch (const std::exception& e) {  // Boost.JSON allocation failures and the like
    return invalid("", std::string("cannot read the definition: ") + e.what());
  }
}

validated<workflow_definition> parse_definition(std::string_view body,
                                                std::span<const std::string> known_tasks,
                                                const task_input_check& check_input) {
  try {
    auto v = parse_json(body);
    if (!v) return unexpected{std::move(v).error()};
    return parse_definition_value(*v, known_tasks, check_input);
  } catch (const std::exception& e) {  // allocation failures while parsing
    return invalid("", std::string("cannot read the definition: ") + e.what());
  }
}

json::value to_json(const workflow_definition& def) {
  json::array steps;
  for (const auto& s : def.steps) {
    json::array deps(s.depends_on.begin(), s.depends_on.end());
    json::array nr(s.retry.non_retryable.begin(), s.retry.non_retryable.end());
    json::object retry{{"maxAttempts", s.retry.max_attempts},
                       {"initialIntervalMs", s.retry.initial_interval_ms},
                       {"backoffCoefficient", s.retry.backoff_coefficient},
                       {"maxIntervalMs", s.retry.max_interval_ms},
                       {"nonRetryable", std::move(nr)}};
    json::object o{{"name", s.name},
                   {"task", s.task},
                   {"dependsOn", std::move(deps)},
                   {"retry", std::move(retry)},
                   {"timeoutMs", s.timeout_ms}};
    if (!s.input->is_null()) o["input"] = *s.input;
    steps.push_back(std::move(o));
  }
  return json::object{{"name", def.name}, {"version", def.version}, {"steps", std::move(steps)}};
}

std::string encode_definition(const workflow_definition& def) {
  return json::serialize(to_json(def));
}

validated<workflow_definition> decode_definition_value(const json::value& stored) {
  try {
    auto def = parse_object(stored, {}, false);
    if (!def) return def;
    auto version = stored.as_object().if_contains("version");
    auto n = version ? as_int(*version) : std::nullopt;
    if (!n || *n < 1 || *n > UINT32_MAX)
      return invalid("version", "a stored definition needs a version");
    def->version = static_cast<std::uint32_t>(*n);
    return def;
  } catch (const std::exception& e) {
    return invalid("", std::string("cannot read the stored definition: ") + e.what());
  }
}

validated<workflow_definition> decode_definition(std::string_view payload) {
  auto v = parse_json(payload);
  if (!v) return unexpected{std::move(v).error()};
  return decode_definition_value(*v);
}

std::span<const std::string> builtin_task_types() {
  static const std::vector<std::string> types{
      "noop", "sleep", "fail", "http", std::string(k_signal_task), std::string(k_timer_task)};
  return types;
}

std::string_view awaited_signal(const step_definition& s) {
  if (s.task != k_signal_task || !s.input->is_object()) return {};
  const auto* name = s.input->as_object().if_contains("name");
  if (name == nullptr || !name->is_string() || !is_valid_id(name->get_string())) return {};
  return name->get_string();
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  const auto digits = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > t.size()) return false;
    out = 0;
    for (std::size_t k = at; k < at + n; ++k) {
      if (t[k] < '0' || t[k] > '9') return false;
      out = out * 10 + (t[k] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(0, 4, y) || t.size() < 20 || t[4] != '-' || !digits(5, 2, mo) || t[7] != '-' ||
      !digits(8, 2, d) || (t[10] != 'T' && t[10] != 't') || !digits(11, 2, h) || t[13] != ':' ||
      !digits(14, 2, mi) || t[16] != ':' || !digits(17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  int ms = 0;
  if (t[at] == '.') {
    int scale = 100;
    for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at) {
      ms += (t[at] - '0') * scale;
      scale /= 10;
    }
  }
  int offset_min = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z') && at + 1 == t.size()) {
  } else if (at + 6 == t.size() && (t[at] == '+' || t[at] == '-') && t[at + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(at + 1, 2, oh) || !digits(at + 4, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_min = (oh * 60 + om) * (t[at] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Days since the epoch of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + std::int64_t{sec} * 1000 + ms;
}

std::optional<std::string> check_timer_input(const step_definition& s) {
  const std::string what = "a timer step's input is {\"ms\": 0.." + std::to_string(k_timer_ms_max) +
                           "} or {\"until\": \"<RFC 3339 time>\"}, either may be a placeholder";
  const auto* o = s.input->if_object();
  if (o == nullptr || o->size() != 1 || !(o->contains("ms") || o->contains("until"))) return what;
  const auto& v = o->begin()->value();
  if (const auto* str = v.if_string(); str != nullptr && str->find("${") != json::string::npos) {
    if (auto bad = check_placeholders(v, s.depends_on)) return bad;
    return std::nullopt;  // its value is checked when the step starts
  }
  if (o->contains("ms")) {
    const bool ok = (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= k_timer_ms_max) ||
                    (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(k_timer_ms_max));
    return ok ? std::nullopt : std::optional<std::string>(what);
  }
  if (!v.is_string() || !parse_rfc3339_ms(v.get_string())) return what;
  return std::nullopt;
}

namespace {

const std::shared_ptr<const workflow_definition>& empty_definition() {
  static const auto empty = std::make_shared<const workflow_definition>();
  return empty;
}

}  // namespace

bool json_larger_than(const boost::json::value& v, std::size_t max_bytes) {
  json::serializer sr;
  sr.reset(&v);
  char buf[4096];
  std::size_t n = 0;
  while (!sr.done()) {
    n += sr.read(buf, sizeof buf).size();
    if (n > max_bytes) return true;
  }
  return false;
}

definition_ref::definition_ref() : p_(empty_definition()) {}

definition_ref::definition_ref(workflow_definition d)
    : p_(std::make_shared<const workflow_definition>(std::move(d))) {}

definition_ref::definition_ref(std::shared_ptr<const workflow_definition> p)
    : p_(p ? std::move(p) : empty_definition()) {}

definition_ref intern(definition_ref d) {
  struct table {
    std::mutex mu;
    std::map<std::pair<std::string, std::uint32_t>, std::weak_ptr<const workflow_definition>> defs;
    std::size_t sweep_at = 64;
  };
  static table t;
  const std::lock_guard lock(t.mu);
  auto key = std::make_pair(d->name, d->version);
  auto& slot = t.defs[key];
  if (auto live = slot.lock(); live && *live == *d) return definition_ref(std::move(live));
  slot = d.ptr();
  // Forget definitions no workflow holds any more, once the table doubled since the
  // last sweep: its size stays proportional to the definitions in use.
  if (t.defs.size() >= t.sweep_at) {
    std::erase_if(t.defs, [](const auto& kv) { return kv.second.expired(); });
    t.sweep_at = std::max<std::size_t>(64, 2 * t.defs.size());
  }
  return d;
}

struct definition_catalog::impl {
  mutable std::shared_mutex mu;
  std::map<std::pair<std::string, std::uint32_t>, definition_ref> defs;
};

definition_catalog::definition_catalog() : impl_(std::make_unique<impl>()) {}
definition_catalog::~definition_catalog() = default;

void definition_catalog::put(definition_ref d) {
  auto key = std::make_pair(d->name, d->version);
  const std::unique_lock lock(impl_->mu);
  impl_->defs.insert_or_assign(std::move(key), std::move(d));
}

std::optional<definition_ref> definition_catalog::find(std::string_view name,
                                                       std::uint32_t version) const {
  const std::shared_lock lock(impl_->mu);
  auto it = impl_->defs.find(std::make_pair(std::string(name), version));
  if (it == impl_->defs.end()) return std::nullopt;
  return it->second;
}

std::size_t definition_catalog::size() const {
  const std::shared_lock lock(impl_->mu);
  return impl_->defs.size();
}

}  // namespace wfe::workflow
