#pragma once
// The archive of workflows deleted by retention (pekko.workflow.retention.archive-dir;
// Temporal's history archival): before the sweeper purges a finished workflow, its
// record and every event it has are appended as one JSON line to a file of the archive
// dir, synced; only then is it purged. Nothing is deleted whose line is not on disk.
//
// Files: <dir>/workflows-<NNNNNN>.jsonl (six digits, counting up), a new one once the
// current one reaches max-file-bytes. A line:
//   {"id","definition","version","status","createdAt","updatedAt","seq","archivedAt",
//    "events":[{"seq","type","at","data"}], "deletedBefore"?}
// (the fields of GET /api/v1/workflows and of its history; "deletedBefore" when the
// first events were deleted after a snapshot). A workflow can appear twice when it
// changed between its archiving and its purge (the purge then leaves it alone and a
// later sweep archives it again): readers keep the line with the highest seq.
//
// Bounded: once the archive holds max-bytes, appends are refused (the sweeper then
// purges nothing and logs it) until the operator moves files away. A line torn by a
// crash (its workflows were not purged) is cut off when the archive is opened.
//
// Reads (GET /api/v1/archived-workflows/{id}): find(id) returns the newest line archived
// for an id. Each file but the current one has an index beside it,
// <file>.idx: "WFEAIDX1", the data file's size, the entry count, then one entry per line
// sorted by (FNV-1a 64 of the id, offset): the hash, the line's offset and length (20
// bytes, little-endian). The current file's entries are held in memory (read from the
// file at open). An index is derived data: written when its file is closed (a new one
// begins), and one that is missing or does not match its file (a crash, an archive of an
// older build, files copied in) is rebuilt by the archiver actor after the start, one
// file per message; until then that file is read line by line. Every line found is
// checked against the id, so a stale index or a hash collision returns nothing wrong.
// The max-bytes bound counts the .jsonl files; the indexes add ~20 bytes per workflow.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "persistence/errc.hpp"

namespace wfe::workflow::runtime {

inline constexpr std::uint64_t k_list_lines_per_item = 10;

struct archive_list {
  std::optional<std::string> status;      // "COMPLETED", "FAILED", "CANCELLED"
  std::optional<std::string> definition;  // a definition name
  std::uint32_t limit = 100;
  std::string cursor;  // the previous page's nextCursor; "" = from the oldest line
};

struct archive_settings {
  std::filesystem::path dir;  // empty: no archive
  std::uint64_t max_file_bytes = 64ull << 20;
  std::uint64_t max_bytes = 10ull << 30;
  std::uint64_t list_max_bytes = 64ull << 20;  // read by one page of list()
};

// Blocking file I/O: used by the archiver actor only (and tests).
class workflow_archive {
 public:
  // Creates the dir, sums the files there and cuts a torn last line off the newest.
  static persistence::result<std::unique_ptr<workflow_archive>> open(archive_settings settings);
  ~workflow_archive();
  workflow_archive(const workflow_archive&) = delete;
  workflow_archive& operator=(const workflow_archive&) = delete;

  // Appends the lines (no newline inside; one is added to each) to the current file,
  // synced, or refuses them all (io_error): when they would take the archive past
  // max-bytes, or when writing fails (the file is cut back to where it was). Returns the
  // archive's bytes.
  persistence::result<std::uint64_t> append(const std::vector<std::string>& lines);

  [[nodiscard]] std::uint64_t bytes() const { return total_; }
  [[nodiscard]] const std::filesystem::path& current_file() const { return path_; }

  // The newest line archived for `id` (without its newline), nullopt when there is none;
  // io_error when a file cannot be read (one moved away is skipped).
  persistence::result<std::optional<std::string>> find(std::string_view id) const;

  // A page of the archive's lines in the order they were written (their fields before
  // the events), filtered by status and definition: {"items":[...],"nextCursor"?}. A
  // page reads at most k_list_lines_per_item × limit lines or list_max_bytes;
  // one that stops there (possibly with fewer items) has a nextCursor ("<file>:<offset>").
  // A malformed cursor is invalid_argument.
  persistence::result<std::string> list(const archive_list& q) const;

  // Closed files whose index is missing or stale; index_one() builds the newest one's
  // (false when none is left; a file that cannot be indexed is logged and left to be
  // read line by line).
  [[nodiscard]] std::size_t unindexed() const { return unindexed_.size(); }
  bool index_one();

  struct entry {
    std::uint64_t hash = 0;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
  };

 private:
  explicit workflow_archive(archive_settings s) : settings_(std::move(s)) {}
  persistence::result<persistence::done> open_file(std::uint32_t number);
  persistence::result<std::optional<std::string>> find_in(std::uint32_t number, std::string_view id,
                                                          std::uint64_t hash) const;

  archive_settings settings_;
  std::filesystem::path path_;
  std::uint32_t number_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t total_ = 0;
  int fd_ = -1;
  std::vector<entry> current_;            // the current file's lines, in file order
  std::vector<std::uint32_t> closed_;     // the other files, ascending
  std::vector<std::uint32_t> unindexed_;  // closed files without a valid index, ascending
};

// The body of GET /api/v1/archived-workflows/{id} from an archived line: its fields, with
// "events" from seq `from` on (at most `limit`), "nextFrom" when more follow and
// "deletedBefore" when the first event returned comes after `from` (as .../history).
persistence::result<std::string> archived_page_json(std::string_view line, std::uint64_t from,
                                                    std::uint32_t limit);

// Asks the archiver to append lines; answered with archive_result (the archive's bytes
// after the append) once they are synced. (The result type is declared a CAF message in
// store_messages.hpp, as store::remove_result.)
struct archive_lines {
  std::vector<std::string> lines;
};
using archive_result = persistence::result<std::uint64_t>;

// Asks the archiver for an archived workflow (archived_page_json); answered with
// archive_read_result: found = false when nothing is archived under the id.
struct archive_read {
  std::string id;
  std::uint64_t from = 1;
  std::uint32_t limit = 1000;
};
struct archived_page {
  bool found = false;
  std::string body;
};
using archive_read_result = persistence::result<archived_page>;

// A detached actor owning the archive (blocking writes off the scheduler's threads).
[[nodiscard]] caf::actor spawn_archiver(caf::actor_system& sys,
                                        std::shared_ptr<workflow_archive> archive);

}  // namespace wfe::workflow::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::archive_lines)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::archive_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::archive_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::archive_read_result)
