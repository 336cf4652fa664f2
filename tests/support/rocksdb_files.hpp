#pragma once
// RocksDB's own files in a store's directory (test helpers).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace wfe::test {

// The options a RocksDB store was opened with, as RocksDB itself wrote them to the
// newest OPTIONS-<n> file of its directory: what reached RocksDB, not what the code
// meant to set.
inline std::string rocksdb_options_file(const std::filesystem::path& dir) {
  std::filesystem::path newest;
  unsigned long long newest_n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind("OPTIONS-", 0) != 0 || name.find('.') != std::string::npos) continue;
    const auto n = std::stoull(name.substr(8));
    if (newest.empty() || n > newest_n) {
      newest = e.path();
      newest_n = n;
    }
  }
  if (newest.empty()) return {};
  std::ifstream in(newest);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// True when the file sets `key=value` for some section ("  key=value" on its own line).
inline bool rocksdb_option_is(const std::string& options_file, const std::string& key,
                              const std::string& value) {
  return options_file.find("\n  " + key + "=" + value + "\n") != std::string::npos;
}

// CURRENT or a MANIFEST-<n>: the files that name a store's live files.
inline bool is_manifest_or_current(const std::string& name) {
  return name == "CURRENT" || name.starts_with("MANIFEST-");
}

}  // namespace wfe::test
