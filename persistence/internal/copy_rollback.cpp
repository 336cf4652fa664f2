#include "persistence/internal/copy_rollback.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "persistence/internal/crc32c.hpp"

// RocksDB's file formats read here (RocksDB 7.8; stable since 6.x):
// - log files (MANIFEST and WAL): 32 KiB blocks of records, each a header — masked
//   CRC32C (4, little-endian), length (2), type (1); recyclable types 5-8 add a 4-byte
//   log number — and the payload; a logical record is one FULL fragment or FIRST,
//   MIDDLE..., LAST. A block's tail shorter than a header is zero padding.
// - MANIFEST records: VersionEdits, a sequence of varint32 tags and their fields.
// - WAL records: WriteBatches, starting with the sequence number (fixed64) and the
//   entry count (fixed32); the next batch's sequence number is this one's plus count.

namespace wfe::persistence::internal {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_block_size = 32768;
constexpr std::size_t k_header_size = 7;
constexpr std::size_t k_recyclable_header_size = 11;
constexpr std::uint32_t k_crc_mask_delta = 0xa282ead8U;

std::uint32_t unmask_crc(std::uint32_t masked) {
  const std::uint32_t rot = masked - k_crc_mask_delta;
  return (rot >> 17) | (rot << 15);
}

std::uint64_t fixed_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

enum class log_end {
  whole,      // every record read (trailing zeros of a preallocated file ignored)
  cut_short,  // the last record runs past the end of the file: a copy taken mid-append
  damaged,    // a checksum, type or fragment order is wrong before the end
  unreadable,
};

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

// Calls `on_record(payload, end offset)` for each logical record of a log file's bytes,
// until the end or the first record that is incomplete or damaged; says which it was.
log_end read_log(const std::optional<std::string>& file_bytes,
                 const std::function<void(std::string_view, std::uint64_t)>& on_record) {
  if (!file_bytes) return log_end::unreadable;
  const std::string& bytes = *file_bytes;
  std::string fragments;
  bool in_fragments = false;
  std::size_t off = 0;
  while (off < bytes.size()) {
    const std::size_t block_left = k_block_size - off % k_block_size;
    if (block_left < k_header_size) {
      off += block_left;
      continue;
    }
    if (bytes.size() - off < k_header_size) {
      return all_zero(std::string_view(bytes).substr(off)) && !in_fragments ? log_end::whole
                                                                            : log_end::cut_short;
    }
    const char* h = bytes.data() + off;
    const auto crc = static_cast<std::uint32_t>(fixed_le(h, 4));
    const auto length = static_cast<std::size_t>(fixed_le(h + 4, 2));
    const auto type = static_cast<unsigned char>(h[6]);
    if (type == 0) {  // preallocated zeros: the end, if nothing but zeros follows
      return all_zero(std::string_view(bytes).substr(off)) && !in_fragments ? log_end::whole
                                                                            : log_end::damaged;
    }
    if (type > 8) return log_end::damaged;  // compression or records these stores never write
    const std::size_t header = type >= 5 ? k_recyclable_header_size : k_header_size;
    if (bytes.size() - off < header + length) return log_end::cut_short;
    if (header + length > block_left) return log_end::damaged;
    if (crc32c(std::string_view(h + 6, header - 6 + length)) != unmask_crc(crc)) {
      return log_end::damaged;
    }
    const std::string_view payload(h + header, length);
    off += header + length;
    switch (type >= 5 ? type - 4 : type) {
      case 1:  // full
        if (in_fragments) return log_end::damaged;
        on_record(payload, off);
        break;
      case 2:  // first
        if (in_fragments) return log_end::damaged;
        fragments.assign(payload);
        in_fragments = true;
        break;
      case 3:  // middle
        if (!in_fragments) return log_end::damaged;
        fragments.append(payload);
        break;
      default:  // last
        if (!in_fragments) return log_end::damaged;
        fragments.append(payload);
        on_record(fragments, off);
        in_fragments = false;
    }
  }
  return in_fragments ? log_end::cut_short : log_end::whole;
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && !in.empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool get_slice(std::string_view& in, std::string_view& out) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

struct added_file {
  std::uint64_t number = 0;
  std::uint64_t size = 0;
};

struct version_edit {
  std::uint32_t family = 0;
  std::optional<std::uint64_t> log_number;
  std::optional<std::uint64_t> next_file;
  std::optional<std::uint64_t> min_log_to_keep;  // WALs below it are never replayed
  std::vector<added_file> added;
  std::vector<std::uint64_t> deleted;
  bool changes_families = false;  // adds or drops a column family
  bool unsupported = false;       // atomic group, blob files
};

// VersionEdit tags (RocksDB db/version_edit.h).
enum : std::uint64_t {
  k_comparator = 1,
  k_log_number = 2,
  k_next_file_number = 3,
  k_last_sequence = 4,
  k_compact_cursor = 5,
  k_deleted_file = 6,
  k_prev_log_number = 9,
  k_min_log_number_to_keep = 10,
  k_new_file4 = 103,
  k_column_family = 200,
  k_column_family_add = 201,
  k_column_family_drop = 202,
  k_max_column_family = 203,
  k_in_atomic_group = 300,
  k_blob_file_addition = 400,
  k_blob_file_garbage = 401,
  k_tag_safe_ignore_mask = 1U << 13,
};
constexpr std::uint64_t k_new_file_terminate = 1;
constexpr std::uint64_t k_new_file_min_log_to_keep = 3;  // a fixed64 (RocksDB's "hack")
constexpr std::uint64_t k_new_file_path_id = 65;

// Parses one VersionEdit; an error names what could not be read.
std::optional<version_edit> parse_edit(std::string_view in, std::string& error) {
  version_edit e;
  std::uint64_t tag = 0;
  std::uint64_t v = 0;
  std::string_view s;
  auto bad = [&](const char* what) {
    error = what;
    return std::nullopt;
  };
  while (!in.empty()) {
    if (!get_varint(in, tag)) return bad("a tag");
    switch (tag) {
      case k_comparator:
        if (!get_slice(in, s)) return bad("the comparator");
        break;
      case k_log_number:
        if (!get_varint(in, v)) return bad("the log number");
        e.log_number = v;
        break;
      case k_next_file_number:
        if (!get_varint(in, v)) return bad("the next file number");
        e.next_file = v;
        break;
      case k_min_log_number_to_keep:
        if (!get_varint(in, v)) return bad("the minimum log number to keep");
        e.min_log_to_keep = v;
        break;
      case k_last_sequence:
      case k_prev_log_number:
      case k_max_column_family:
        if (!get_varint(in, v)) return bad("a number field");
        break;
      case k_compact_cursor:
        if (!get_varint(in, v) || !get_slice(in, s)) return bad("a compact cursor");
        break;
      case k_deleted_file:
        if (!get_varint(in, v) || !get_varint(in, v)) return bad("a deleted file");
        e.deleted.push_back(v);
        break;
      case k_new_file4: {
        added_file f;
        std::uint64_t level = 0;
        if (!get_varint(in, level) || !get_varint(in, f.number) || !get_varint(in, f.size) ||
            !get_slice(in, s) || !get_slice(in, s) || !get_varint(in, v) || !get_varint(in, v)) {
          return bad("a new file");
        }
        for (;;) {
          std::uint64_t custom = 0;
          if (!get_varint(in, custom)) return bad("a new file's fields");
          if (custom == k_new_file_terminate) break;
          if (!get_slice(in, s)) return bad("a new file's field");
          if (custom == k_new_file_path_id && s != std::string_view("\0", 1)) {
            return bad("a table file outside the store's directory (path id)");
          }
          if (custom == k_new_file_min_log_to_keep) {
            if (s.size() != 8) return bad("the minimum log number to keep");
            e.min_log_to_keep = fixed_le(s.data(), 8);
          }
        }
        e.added.push_back(f);
        break;
      }
      case k_column_family:
        if (!get_varint(in, v)) return bad("the column family");
        e.family = static_cast<std::uint32_t>(v);
        break;
      case k_column_family_add:
        if (!get_slice(in, s)) return bad("a column family name");
        e.changes_families = true;
        break;
      case k_column_family_drop:
        e.changes_families = true;
        break;
      case k_in_atomic_group:
        if (!get_varint(in, v)) return bad("an atomic group");
        e.unsupported = true;
        break;
      case k_blob_file_addition:
      case k_blob_file_garbage:
        e.unsupported = true;
        return e;  // not parsed further; the caller refuses
      default:
        if ((tag & k_tag_safe_ignore_mask) == 0) {
          error = "an unknown tag " + std::to_string(tag);
          return std::nullopt;
        }
        if (!get_slice(in, s)) return bad("an ignorable field");
    }
  }
  return e;
}

std::string file_name(std::uint64_t number, const char* ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06llu.%s", static_cast<unsigned long long>(number), ext);
  return buf;
}

struct dir_files {
  std::map<std::uint64_t, std::uint64_t> tables;  // number -> size
  std::set<std::uint64_t> wals;
};

// `000123.sst` -> 123; nullopt for other names.
std::optional<std::uint64_t> numbered(const std::string& name, std::string_view ext) {
  const auto dot = name.find('.');
  if (dot == 0 || dot == std::string::npos || std::string_view(name).substr(dot + 1) != ext) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return n;
}

dir_files list_files(const fs::path& dir) {
  dir_files out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto name = entry.path().filename().string();
    if (auto n = numbered(name, "sst"); n) out.tables[*n] = entry.file_size();
    if (auto n = numbered(name, "ldb"); n) out.tables[*n] = entry.file_size();
    if (auto n = numbered(name, "log"); n) out.wals.insert(*n);
  }
  return out;
}

struct wal_range {
  std::uint64_t number = 0;
  std::uint64_t first = 0;  // sequence number of its first entry
  std::uint64_t end = 0;    // the sequence number after its last entry
};

// The sequence numbers a WAL holds; nullopt when it holds no write (or cannot be read).
std::optional<wal_range> read_wal_range(const fs::path& file, std::uint64_t number,
                                        bool& readable) {
  wal_range r{.number = number};
  bool any = false;
  bool malformed = false;
  const auto end = read_log(read_file(file), [&](std::string_view rec, std::uint64_t) {
    if (malformed) return;
    if (rec.size() < 12) {
      malformed = true;
      return;
    }
    const auto seq = fixed_le(rec.data(), 8);
    const auto count = fixed_le(rec.data() + 8, 4);
    if (!any) r.first = seq;
    any = true;
    r.end = seq + count;
  });
  // A WAL damaged before its end: what follows the damage would be missing from the
  // cut state's history (RocksDB itself accepts only a damaged tail).
  readable = !malformed && (end == log_end::whole || end == log_end::cut_short);
  if (!any) return std::nullopt;
  return r;
}

bool write_file_synced(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

std::string join(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

copy_rollback refused(std::string why) {
  return {copy_rollback::outcome::refused, "not rolled back: " + std::move(why)};
}

}  // namespace

copy_rollback roll_back_incomplete_copy(const fs::path& dir) try {
  std::string current;
  {
    std::ifstream in(dir / "CURRENT");
    if (!in || !std::getline(in, current)) return {};
  }
  if (!current.starts_with("MANIFEST-") || current.find('/') != std::string::npos) return {};
  const fs::path manifest = dir / current;

  struct record {
    version_edit edit;
    std::uint64_t end = 0;
  };
  std::vector<record> records;
  std::string parse_error;
  const auto bytes = read_file(manifest);
  const auto manifest_end = read_log(bytes, [&](std::string_view rec, std::uint64_t end) {
    if (!parse_error.empty()) return;
    auto e = parse_edit(rec, parse_error);
    if (e) records.push_back({std::move(*e), end});
  });
  if (manifest_end == log_end::unreadable) return {};
  // Edits past damage in the middle are unknown: what they did cannot be checked.
  if (manifest_end == log_end::damaged && parse_error.empty()) {
    parse_error = "a damaged record";
  }
  const auto files = list_files(dir);

  // The table files of the state after each prefix of the edits; how many are missing.
  std::map<std::uint64_t, std::uint64_t> live;  // number -> recorded size
  std::size_t bad = 0;
  auto is_bad = [&](std::uint64_t number, std::uint64_t size) {
    auto it = files.tables.find(number);
    return it == files.tables.end() || it->second != size;
  };
  std::optional<std::size_t> cut;  // the longest prefix with nothing bad, short of all
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (bad == 0 && i > 0) cut = i;
    for (auto n : records[i].edit.deleted) {
      auto it = live.find(n);
      if (it == live.end()) continue;
      if (is_bad(it->first, it->second)) --bad;
      live.erase(it);
    }
    for (const auto& f : records[i].edit.added) {
      live[f.number] = f.size;
      if (is_bad(f.number, f.size)) ++bad;
    }
  }
  if (bad == 0 && parse_error.empty()) return {};  // the problem is something else
  std::vector<std::string> missing;
  for (const auto& [number, size] : live) {
    if (!is_bad(number, size)) continue;
    missing.push_back(file_name(number, "sst") +
                      (files.tables.contains(number) ? " (size differs)" : ""));
  }
  if (!parse_error.empty()) {
    return refused(current + " could not be read past " + std::to_string(records.size()) +
                   " edits (" + parse_error + ")");
  }
  const std::string what = current + " names table files this directory lacks: " + join(missing) +
                           " (a copy taken while the node ran?)";
  if (!cut) return refused(what + "; no earlier state of it has all its files");

  // The state at the cut: each family's WAL number, the next file number.
  std::map<std::uint32_t, std::uint64_t> log_at_cut;
  std::uint64_t next_file_at_cut = 0;
  std::uint64_t min_log_to_keep_at_cut = 0;
  std::set<std::uint64_t> live_at_cut;
  for (std::size_t i = 0; i < *cut; ++i) {
    const auto& e = records[i].edit;
    if (e.log_number) log_at_cut[e.family] = *e.log_number;
    if (e.next_file) next_file_at_cut = *e.next_file;
    if (e.min_log_to_keep)
      min_log_to_keep_at_cut = std::max(min_log_to_keep_at_cut, *e.min_log_to_keep);
    for (auto n : e.deleted) live_at_cut.erase(n);
    for (const auto& f : e.added) live_at_cut.insert(f.number);
  }
  // The families whose flushes are cut off (an edit adding table files and deleting none;
  // a compaction deletes its inputs, which the cut state still has): what those flushes
  // wrote must come from the WALs again.
  std::set<std::uint32_t> flushed_after_cut;
  for (std::size_t i = *cut; i < records.size(); ++i) {
    const auto& e = records[i].edit;
    if (e.changes_families || e.unsupported) {
      return refused(what +
                     "; the edits after its last complete state add or drop column "
                     "families, or use atomic groups or blob files");
    }
    if (!e.added.empty() && e.deleted.empty()) flushed_after_cut.insert(e.family);
  }
  if (next_file_at_cut == 0 || log_at_cut.empty())
    return refused(what + "; its complete state has no WAL or file numbers");
  // A family's data not in its table files is in the WALs from its log number on (none
  // below the minimum to keep are replayed); 0: it was never flushed, all of it is.
  std::uint64_t oldest = UINT64_MAX;
  for (auto family : flushed_after_cut) {
    const auto wal = std::max(log_at_cut[family], min_log_to_keep_at_cut);
    if (wal > 0 && !files.wals.contains(wal)) {
      return refused(what + "; its last complete state needs " + file_name(wal, "log") +
                     ", which is not here either");
    }
    oldest = std::min(oldest, wal);
  }
  // Every WAL from the oldest one the cut newly relies on must continue the one before
  // it (families whose flushes are not cut off need what they needed before); from 0,
  // the first must start at the store's first write.
  std::optional<wal_range> previous;
  std::vector<std::string> replayed;
  for (auto number : files.wals) {
    if (number < oldest) continue;
    bool readable = true;
    auto r = read_wal_range(dir / file_name(number, "log"), number, readable);
    if (!readable) return refused(what + "; " + file_name(number, "log") + " cannot be read");
    if (!r) continue;
    if (!previous && oldest == 0 && r->first != 1) {
      return refused(what +
                     "; its last complete state needs every write since the store "
                     "was created, but the oldest WAL here, " +
                     file_name(number, "log") + ", starts at sequence number " +
                     std::to_string(r->first));
    }
    if (previous && r->first != previous->end) {
      return refused(what + "; " + file_name(number, "log") + " starts at sequence number " +
                     std::to_string(r->first) + " but " + file_name(previous->number, "log") +
                     " ended at " + std::to_string(previous->end) +
                     ": the writes in between are in no file here");
    }
    previous = r;
    replayed.push_back(file_name(number, "log"));
  }

  // Keep the original, write the cut MANIFEST under a temporary name, then rename it over.
  const auto cut_bytes = records[*cut - 1].end;
  const fs::path original = dir / (current + ".before-rollback");
  const fs::path staged = dir / (current + ".rollback");
  // A second attempt keeps the first original.
  if ((!fs::exists(original) && !write_file_synced(original, *bytes)) ||
      !write_file_synced(staged, std::string_view(*bytes).substr(0, cut_bytes))) {
    return refused(what + "; cannot write beside " + current);
  }
  fs::rename(staged, manifest);
  sync_dir(dir);
  // Table files numbered from the cut state's next file number on were made by the
  // edits cut off: nothing references them, and RocksDB would hand their numbers out again.
  std::vector<std::string> removed;
  for (const auto& [number, size] : files.tables) {
    if (number < next_file_at_cut || live_at_cut.contains(number)) continue;
    fs::remove(dir / file_name(number, "sst"));
    fs::remove(dir / file_name(number, "ldb"));
    removed.push_back(file_name(number, "sst"));
  }
  sync_dir(dir);
  return {copy_rollback::outcome::rolled_back,
          what + "; rolled back by " + std::to_string(records.size() - *cut) + " of its " +
              std::to_string(records.size()) +
              " edits to its last state whose table files are all here" +
              (flushed_after_cut.empty()
                   ? std::string("; only compactions were cut off, whose inputs it has")
                   : ", which the WALs " + join(replayed) + " (no gap between them) complete") +
              "; the original is kept as " + original.filename().string() +
              (removed.empty() ? std::string()
                               : "; removed the table files made after it: " + join(removed))};
} catch (const std::exception& e) {
  return refused(std::string("looking at ") + dir.string() + ": " + e.what());
}

}  // namespace wfe::persistence::internal
