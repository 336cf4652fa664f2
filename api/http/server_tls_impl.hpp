#pragma once
// The definition of tls_context, for wfe_api's .cpp files only (pulls in OpenSSL).

#include <boost/asio/ssl/context.hpp>

#include "api/http/server_tls.hpp"

namespace wfe::api {

struct tls_context {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_server};
};

}  // namespace wfe::api
