#pragma once
// Journal and snapshot encoding of the workflow entity: JSON (Boost.JSON).
//
// Why JSON and not protobuf: step inputs, outputs and signal payloads are arbitrary
// JSON already, so a protobuf schema would carry them as JSON strings anyway; one
// event-to-JSON mapping serves both the journal and GET .../history (history.hpp);
// and stored events stay readable in a debugger. The manifest names the format and
// its version ("wf.event.v2.json"), so a later protobuf codec can be added next to
// this one and old events still decode.
//
// Event payload: {"type":"StepCompleted","at":<ms>,"data":{...}} with `data` as in
// event_data(). State payload: every field of workflow_state (see the .cpp).
//
// v2 (written since the fourteenth pass) names the definition of a WorkflowStarted and
// of a snapshot, {"name","version"}, and the decoder looks it up in the node's
// definition_catalog (definition.hpp): a start journals ~100 B for its definition
// instead of all of it (a 100-step definition made every start write ~11 KB). v1
// payloads (the whole definition inline) still decode; a v2 payload whose definition is
// not in the catalog is an error naming it. Old binaries refuse v2 by its manifest.
// Decoders never throw: a payload that does not parse or misses a field is an error
// naming what is wrong (the entity then fails recovery or skips the snapshot).

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "engine/core/expected.hpp"
#include "engine/workflow/workflow_model.hpp"

namespace wfe::workflow {

inline constexpr std::string_view k_event_manifest = "wf.event.v2.json";
inline constexpr std::string_view k_state_manifest = "wf.state.v2.json";
inline constexpr std::string_view k_event_manifest_v1 = "wf.event.v1.json";  // read only
inline constexpr std::string_view k_state_manifest_v1 = "wf.state.v1.json";  // read only

template <class T>
using decoded = core::expected<T, std::string>;

// "WorkflowStarted", "StepScheduled", ... (the names history shows).
[[nodiscard]] std::string_view event_type_name(const event_body& body);

// The event's fields as JSON (camelCase, like the REST API).
[[nodiscard]] boost::json::object event_data(const event_body& body);

// As encode_event() writes it (v2: a WorkflowStarted's definition is {"name","version"}).
[[nodiscard]] boost::json::value event_to_json(const event& e);

[[nodiscard]] std::string encode_event(const event& e);
// Whether `manifest` is a workflow event's (v1 or v2).
[[nodiscard]] bool is_event_manifest(std::string_view manifest);
// `definitions` resolves a v2 WorkflowStarted's definition; null = the history's decode:
// the definition is then its name and version only, without steps (never apply it).
[[nodiscard]] decoded<event> decode_event(std::string_view manifest, std::string_view payload,
                                          const definition_catalog* definitions);

// The body of a start's 201: {"id","status","definition","version","priority"}, written
// directly, byte for byte what json::serialize of that object writes (building and
// serializing the object cost ~5k instructions per start).
[[nodiscard]] std::string start_reply_json(std::string_view id, workflow_status status,
                                           const workflow_definition& def,
                                           std::string_view priority);

[[nodiscard]] boost::json::value state_to_json(const workflow_state& s);

[[nodiscard]] std::string encode_state(const workflow_state& s);
[[nodiscard]] decoded<workflow_state> decode_state(std::string_view manifest,
                                                   std::string_view payload,
                                                   const definition_catalog& definitions);

}  // namespace wfe::workflow
