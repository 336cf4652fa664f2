#pragma once
// Placeholders in an `http` step's input: how the workflow's data reaches a built-in task
// (workers and C++ handlers get it as fields: task_protocol.hpp, task_request).
//
//   ${workflow.id}                      the workflow's id
//   ${workflow.input}                   its start input; ${workflow.input.a.b.0}: a part
//   ${steps.<name>.output}              the output of <name>, a step of its dependsOn;
//                                       ${steps.<name>.output.status}: a part
//   $${                                 a literal "${"
//
// A path is dot-separated object keys, a number indexing an array. A string that is one
// placeholder and nothing else becomes the value itself (any JSON); a placeholder inside
// a longer string becomes the value's text (a string as it is, anything else as JSON) —
// percent-encoded in the top-level "url" (RFC 3986: all but unreserved characters), so a
// value cannot change the URL's structure (a "url" that is one placeholder is the value's
// text as it is: a whole URL from an earlier step). Only string values are looked at (object keys
// are not). A placeholder naming a step that is not a dependency is refused when the
// definition is registered; one whose value is missing fails the task (invalid_input).

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "engine/core/expected.hpp"
#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

struct placeholder_scope {
  std::string_view workflow_id;
  const boost::json::value& workflow_input;
  std::span<const step_output> outputs;  // the dependencies' outputs
};

// Whether any string value of `input` holds "${" (the fast path: nothing to resolve).
[[nodiscard]] bool has_placeholders(const boost::json::value& input);

// `input` with every placeholder replaced; else why not (names the placeholder).
[[nodiscard]] core::expected<boost::json::value, std::string> resolve_placeholders(
    const boost::json::value& input, const placeholder_scope& scope);

// At definition time: every placeholder well formed, and every step it names one of
// `depends_on`; else the reason, naming the placeholder.
[[nodiscard]] std::optional<std::string> check_placeholders(
    const boost::json::value& input, std::span<const std::string> depends_on);

}  // namespace wfe::workflow
