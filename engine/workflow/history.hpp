#pragma once
// REST renderings of the workflow entity (DESIGN.md §9; field names are the contract):
//   GET /api/v1/workflows/{id}          -> workflow_json(state)
//   GET /api/v1/workflows/{id}/history  -> history_json(events)
// Times are RFC 3339 UTC strings with milliseconds ("2026-11-23T12:17:39.123Z").

#include <cstdint>
#include <span>
#include <string>

#include <boost/json/value.hpp>

#include "engine/workflow/store/records.hpp"
#include "engine/workflow/workflow_model.hpp"

namespace wfe::workflow {

// An event as read back from the journal: its sequence number and the decoded event.
struct recorded_event {
  std::uint64_t seq = 0;
  event e;
};

// {"events":[{"seq","type","at","data"}]}; WorkflowStarted's data shows the
// definition as {"name","version"} rather than every step (the definition has its
// own endpoint).
[[nodiscard]] boost::json::value history_json(std::span<const recorded_event> events);

// {"id","definition","version","status","steps":[{"name","status","attempts",
//  "output"?,"error"?}],"createdAt","updatedAt"} plus "priority", "input",
// "signals" (names and times) and, when failed, "failure" {"step","error","attempts"}.
[[nodiscard]] boost::json::value workflow_json(const workflow_state& s);

[[nodiscard]] std::string format_time_ms(std::int64_t epoch_ms);

// An item of GET /api/v1/workflows: {"id","definition","version","status","priority",
// "createdAt","updatedAt"} of an index record.
[[nodiscard]] boost::json::object record_json(const store::workflow_record& r);

}  // namespace wfe::workflow
