#pragma once
// The definition of tls_context and a certificate loader, for wfe_api's .cpp files only
// (pulls in OpenSSL).

#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "api/http/server_tls.hpp"

namespace wfe::api {

struct tls_context {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_server};
};

// Loads a PEM certificate chain and its private key into `ctx`: empty, or an error
// naming the file ("cannot use the <what> <cert_file>: …", "cannot use the private key
// <key_file> (for <cert_file>): …"). Used by the server and by the tools' client.
std::string use_certificate(boost::asio::ssl::context& ctx, const std::string& cert_file,
                            const std::string& key_file, std::string_view what);

}  // namespace wfe::api
