#pragma once
// A `responder` travels inside CAF messages between the route handlers and their
// helper actors (local only, never serialized). Included by route .cpp files only:
// it pulls in CAF.

#include <caf/allowed_unsafe_message_type.hpp>

#include "api/http/http_types.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::responder)
