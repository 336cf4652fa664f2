#pragma once
// GET /metrics: the Prometheus text exposition of a collectable, served by any
// http_server (prometheus-cpp's own civetweb exposer is not used).

#include <memory>

#include "api/http/router.hpp"

namespace prometheus {
class Collectable;
}

namespace wfe::api {

// Takes any Collectable rather than only a Registry so the node can pass its
// core::metrics_registry, which adds process metrics at scrape time; a
// std::shared_ptr<prometheus::Registry> converts implicitly.
void add_metrics_route(router& r, std::shared_ptr<const prometheus::Collectable> source);

}  // namespace wfe::api
