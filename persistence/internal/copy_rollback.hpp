#pragma once
// Opens copies of a store taken while it ran (the deployment guide's daily `tar` of the
// journal directory) whose MANIFEST names table files the copy does not have.
//
// `tar` lists the directory first and copies the files one by one. A table file that a
// flush or compaction creates in between is missing from the archive, but the MANIFEST
// (copied later) names it, and RocksDB refuses to open the copy. Everything that file
// holds is elsewhere in the archive: a flush's data is in the WALs it was flushed from
// (which existed when `tar` listed the directory; deferred_delete_fs keeps them until
// `tar` has copied them), a compaction's data is in its input files (kept likewise).
// So the MANIFEST is cut back to its last state whose table files are all present, and
// RocksDB's own recovery then replays the WALs that state needs — the store as it was
// at some moment after `tar` began.
//
// It is done only when the cut provably loses nothing the copy holds:
// - the MANIFEST parses completely, its last record at most cut short by the copy (a
//   damaged record, atomic groups, blob files or column family changes among the edits
//   cut off, any tag this code does not know: refused);
// - for every column family with a flush among the edits cut off, the WAL its cut state
//   starts from is present (a family never flushed: the WALs must start at the store's
//   first write); a compaction cut off needs nothing, its inputs are in the cut state;
// - the WALs from the oldest one needed onwards continue each other's sequence numbers
//   without a gap (a WAL missing in between would leave a hole in the history), none
//   damaged before its end.
// Otherwise nothing is changed and the store stays unopened (the error names why).
//
// The MANIFEST's original is kept beside it as `MANIFEST-n.before-rollback`; table files
// numbered at or past the cut state's next file number (made by the edits cut off, and
// unreferenced) are deleted, so RocksDB cannot hand their numbers out again.

#include <filesystem>
#include <string>

namespace wfe::persistence::internal {

struct copy_rollback {
  enum class outcome {
    nothing_missing,  // every table file the MANIFEST names is there: not this problem
    rolled_back,      // the MANIFEST was cut back; open the store again
    refused,          // files are missing, but a cut could lose data or was not possible
  };
  outcome result = outcome::nothing_missing;
  std::string report;  // what was done, or why not (names files)
};

// Looks at the store in `dir` (not open by anyone) after RocksDB refused to open it.
[[nodiscard]] copy_rollback roll_back_incomplete_copy(const std::filesystem::path& dir);

}  // namespace wfe::persistence::internal
