#pragma once
// Reads api/openapi.yaml (yaml-cpp) into Boost.JSON and validates JSON values against
// its schemas (the subset the document uses: $ref, type, nullable, required,
// properties, additionalProperties, items, enum, minimum/maximum, minLength/maxLength,
// minItems). Test helper for the OpenAPI walk; link yaml-cpp.

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wfe::test {

// YAML → JSON. Plain scalars are typed the YAML 1.2 core way (null, booleans, integers,
// floats, else strings); quoted scalars stay strings.
inline boost::json::value yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      boost::json::array a;
      for (const auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      boost::json::object o;
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const auto& s = n.Scalar();
  if (n.Tag() == "!") return boost::json::string(s);  // quoted
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  try {
    std::size_t used = 0;
    auto i = std::stoll(s, &used);
    if (used == s.size()) return i;
    auto d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (const std::exception&) {
  }
  return boost::json::string(s);
}

inline boost::json::object load_openapi(const std::filesystem::path& file) {
  return yaml_to_json(YAML::LoadFile(file.string())).as_object();
}

// Validates values against the document's schemas; errors name the JSON path.
class schema_validator {
 public:
  explicit schema_validator(boost::json::object doc) : root_(std::move(doc)) {}

  // Empty when `v` matches `schema`; else one line per problem.
  [[nodiscard]] std::vector<std::string> validate(const boost::json::value& v,
                                                  const boost::json::value& schema) const {
    std::vector<std::string> errors;
    check(v, schema, "$", errors, 0);
    return errors;
  }

  // Follows "$ref": "#/components/schemas/X" (and chains of them); null if dangling.
  [[nodiscard]] const boost::json::value& resolve(const boost::json::value& schema) const {
    const auto* s = &schema;
    for (int hops = 0; hops < 16 && s->is_object(); ++hops) {
      const auto* ref = s->as_object().if_contains("$ref");
      if (ref == nullptr || !ref->is_string()) break;
      std::string_view path = ref->as_string();
      if (path.substr(0, 2) != "#/") return null_;
      path.remove_prefix(2);
      const boost::json::value* cur = &root_;
      while (cur != nullptr && !path.empty()) {
        auto slash = path.find('/');
        auto key = path.substr(0, slash);
        cur = cur->is_object() ? cur->as_object().if_contains(key) : nullptr;
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
      }
      if (cur == nullptr) return null_;
      s = cur;
    }
    return *s;
  }

 private:
  static bool type_matches(const boost::json::value& v, std::string_view type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_bool();
    if (type == "integer") return v.is_int64() || v.is_uint64();
    if (type == "number") return v.is_number();
    return true;
  }

  static double number_of(const boost::json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.as_int64());
    if (v.is_uint64()) return static_cast<double>(v.as_uint64());
    return v.as_double();
  }

  void check(const boost::json::value& v, const boost::json::value& raw, const std::string& at,
             std::vector<std::string>& errors, int depth) const {
    if (depth > 32) return;
    const auto& schema_v = resolve(raw);
    if (!schema_v.is_object()) return;
    const auto& s = schema_v.as_object();
    if (v.is_null()) {
      const auto* nullable = s.if_contains("nullable");
      if (s.contains("type") && !(nullable && nullable->is_bool() && nullable->as_bool())) {
        errors.push_back(at + ": null where " + std::string(s.at("type").as_string()) +
                         " is required");
      }
      return;
    }
    if (const auto* t = s.if_contains("type")) {
      if (!type_matches(v, t->as_string())) {
        errors.push_back(at + ": expected " + std::string(t->as_string()) + ", got " +
                         boost::json::serialize(v).substr(0, 80));
        return;
      }
    }
    if (const auto* e = s.if_contains("enum")) {
      bool found = false;
      for (const auto& x : e->as_array()) found = found || x == v;
      if (!found) {
        errors.push_back(at + ": " + boost::json::serialize(v) + " is not one of " +
                         boost::json::serialize(*e));
      }
    }
    if (v.is_number()) {
      if (const auto* m = s.if_contains("minimum"); m && number_of(v) < number_of(*m)) {
        errors.push_back(at + ": below minimum " + boost::json::serialize(*m));
      }
      if (const auto* m = s.if_contains("maximum"); m && number_of(v) > number_of(*m)) {
        errors.push_back(at + ": above maximum " + boost::json::serialize(*m));
      }
    }
    if (v.is_string()) {
      auto len = static_cast<std::int64_t>(v.as_string().size());
      if (const auto* m = s.if_contains("minLength"); m && len < m->to_number<std::int64_t>()) {
        errors.push_back(at + ": shorter than " + boost::json::serialize(*m));
      }
      if (const auto* m = s.if_contains("maxLength"); m && len > m->to_number<std::int64_t>()) {
        errors.push_back(at + ": longer than " + boost::json::serialize(*m));
      }
    }
    if (v.is_array()) {
      const auto& a = v.as_array();
      if (const auto* m = s.if_contains("minItems");
          m && static_cast<std::int64_t>(a.size()) < m->to_number<std::int64_t>()) {
        errors.push_back(at + ": fewer than " + boost::json::serialize(*m) + " items");
      }
      if (const auto* items = s.if_contains("items")) {
        for (std::size_t i = 0; i < a.size(); ++i) {
          check(a[i], *items, at + "[" + std::to_string(i) + "]", errors, depth + 1);
        }
      }
    }
    if (v.is_object()) {
      const auto& o = v.as_object();
      if (const auto* req = s.if_contains("required")) {
        for (const auto& name : req->as_array()) {
          if (!o.contains(name.as_string())) {
            errors.push_back(at + ": missing required field \"" + std::string(name.as_string()) +
                             "\"");
          }
        }
      }
      const auto* props = s.if_contains("properties");
      for (const auto& [k, val] : o) {
        const boost::json::value* sub = props ? props->as_object().if_contains(k) : nullptr;
        if (sub == nullptr) sub = s.if_contains("additionalProperties");
        if (sub != nullptr && sub->is_object())
          check(val, *sub, at + "." + std::string(k), errors, depth + 1);
      }
    }
  }

  boost::json::value root_;
  boost::json::value null_;
};

}  // namespace wfe::test
