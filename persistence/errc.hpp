#pragma once
// Errors of the persistence module: a code callers branch on, and a message for
// operators that names what is wrong (persistence id, sequence numbers, file, key).

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/expected.hpp"

namespace wfe::persistence {

enum class errc : std::uint8_t {
  // The batch's first sequence number is not highest + 1 (a second writer for the
  // id, or a writer that missed an acknowledgement). Nothing of the batch is written.
  sequence_conflict = 1,
  // Stored data is damaged: a checksum, an envelope, or a gap in an id's sequence.
  corruption,
  // The store failed to read or write (includes a full disk); nothing was acknowledged.
  io_error,
  // The caller passed something the journal never accepts (empty batch, seq 0, ...).
  invalid_argument,
  // The journal is closed, or its actor is gone or did not answer in time.
  unavailable,
  // A bug or an exception from a third-party library caught at the boundary.
  internal,
  // A store directory is held by another process (a running node): its RocksDB LOCK
  // is taken. Tools fall back to asking that node (e.g. backup over HTTP).
  locked,
  // A directory that must be empty is not (restore without force).
  not_empty,
};

[[nodiscard]] std::string_view to_string(errc code);

struct error {
  errc code = errc::internal;
  std::string message;

  // "<code>: <message>", for logs.
  [[nodiscard]] std::string describe() const;
};

template <class T>
using result = core::expected<T, error>;

// Value type of results that carry no value.
struct done {};

[[nodiscard]] inline core::unexpected<error> fail(errc code, std::string message) {
  return core::unexpected<error>{error{code, std::move(message)}};
}
[[nodiscard]] inline core::unexpected<error> fail(error e) {
  return core::unexpected<error>{std::move(e)};
}

}  // namespace wfe::persistence
