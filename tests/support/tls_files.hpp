#pragma once
// The test certificates and keys in tests/data/tls (see its README), by file name.
// Test targets define WFE_SOURCE_DIR (cmake/wfe.cmake).

#include <filesystem>
#include <string>

namespace wfe::test {

inline std::string tls_file(const std::string& name) {
  return (std::filesystem::path(WFE_SOURCE_DIR) / "tests/data/tls" / name).string();
}

}  // namespace wfe::test
