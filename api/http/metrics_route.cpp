#include "api/http/metrics_route.hpp"

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

namespace wfe::api {

void add_metrics_route(router& r, std::shared_ptr<const prometheus::Collectable> source) {
  r.add("GET", "/metrics", [source = std::move(source)](http_request&&, const responder& respond) {
    http_response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = prometheus::TextSerializer().Serialize(source->Collect());
    respond(std::move(res));
  });
}

}  // namespace wfe::api
