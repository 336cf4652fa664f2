#include "engine/workflow/runtime/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <system_error>
#include <utility>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "engine/core/fnv1a.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"

namespace wfe::workflow::runtime {
namespace {

using persistence::errc;
using persistence::fail;

constexpr std::string_view k_prefix = "workflows-";
constexpr std::string_view k_suffix = ".jsonl";

std::string file_name(std::uint32_t number) {
  auto digits = std::to_string(number);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return std::string(k_prefix) + digits + std::string(k_suffix);
}

// The number of an archive file's name; 0 when it is not one.
std::uint32_t number_of(const std::string& name) {
  if (name.size() <= k_prefix.size() + k_suffix.size() || !name.starts_with(k_prefix) ||
      !name.ends_with(k_suffix))
    return 0;
  const auto digits = std::string_view(name).substr(
      k_prefix.size(), name.size() - k_prefix.size() - k_suffix.size());
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc{} && end == digits.data() + digits.size() ? n : 0;
}

std::string errno_text() { return std::strerror(errno); }

// -- the index beside each closed file (archive.hpp) ------------------------------

constexpr std::string_view k_index_magic = "WFEAIDX1";
constexpr std::size_t k_index_header = 24;  // magic, the data file's size, the entry count
constexpr std::size_t k_entry_bytes = 20;   // hash, offset, length
constexpr std::size_t k_read_chunk = 1 << 20;

std::filesystem::path index_path(const std::filesystem::path& dir, std::uint32_t number) {
  return dir / (file_name(number) + ".idx");
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

// The id of an archived line. record_json writes it first and ids hold no quote or
// backslash, so it is read from the line's head; any other line is parsed.
std::optional<std::string> line_id(std::string_view line) {
  constexpr std::string_view head = R"({"id":")";
  if (line.starts_with(head)) {
    const auto end = line.find('"', head.size());
    if (end != std::string_view::npos)
      return std::string(line.substr(head.size(), end - head.size()));
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* id = v.as_object().if_contains("id");
  if (id == nullptr || !id->is_string()) return std::nullopt;
  return std::string(id->as_string());
}

// A file descriptor closed at scope exit.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const auto r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

// Writes all of `data` (false on an error; errno says which).
bool write_all(int fd, std::string_view data) {
  std::size_t written = 0;
  while (written < data.size()) {
    const auto n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

// fn(offset, line) for each whole line of a file from `from` on, in order, until it
// returns false (a last line without its newline is left out). Returns the offset after
// the last line fn saw.
persistence::result<std::uint64_t> read_lines(
    const std::filesystem::path& file, std::uint64_t from,
    const std::function<bool(std::uint64_t, std::string_view)>& fn) {
  fd_guard f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return fail(errc::io_error, "cannot open " + file.string() + ": " + errno_text());
  if (from > 0 && ::lseek(f.fd, static_cast<off_t>(from), SEEK_SET) < 0)
    return fail(errc::io_error, "cannot read " + file.string() + ": " + errno_text());
  std::string buf(k_read_chunk, '\0');
  std::string line;
  std::uint64_t line_start = from;
  for (;;) {
    const auto n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errc::io_error, "cannot read " + file.string() + ": " + errno_text());
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        line.append(chunk);
        break;
      }
      line.append(chunk.substr(0, nl));
      const bool more = fn(line_start, line);
      line_start += line.size() + 1;
      if (!more) return line_start;
      line.clear();
      chunk.remove_prefix(nl + 1);
    }
  }
  return line_start;
}

// fn(offset, line) for each whole line of a file.
persistence::result<persistence::done> for_each_line(
    const std::filesystem::path& file,
    const std::function<void(std::uint64_t, std::string_view)>& fn) {
  auto end = read_lines(file, 0, [&fn](std::uint64_t offset, std::string_view line) {
    fn(offset, line);
    return true;
  });
  if (!end) return fail(std::move(end).error());
  return persistence::done{};
}

// Lines archived by earlier builds end with `,"deletedBefore":N}` after their events; N when this
// line does (a key of that name inside an event's data is never followed by the line's last brace
// alone).
std::optional<std::uint64_t> trailing_deleted_before(std::string_view line) {
  constexpr std::string_view key = R"(,"deletedBefore":)";
  if (line.size() < key.size() + 2 || line.back() != '}') return std::nullopt;
  const auto at = line.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  const auto digits = line.substr(at + key.size(), line.size() - 1 - at - key.size());
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

// A line's fields before its events (the record, seq, archivedAt, deletedBefore): the
// sweeper writes them first, so the line is cut there rather than parsed whole; any
// other line is.
std::optional<boost::json::object> line_head(std::string_view line) {
  boost::system::error_code ec;
  if (const auto cut = line.find(R"(,"events":)"); cut != std::string_view::npos) {
    std::string head(line.substr(0, cut));
    head.push_back('}');
    auto v = boost::json::parse(head, ec);
    if (!ec && v.is_object()) {
      auto& o = v.as_object();
      if (!o.contains("deletedBefore")) {
        if (auto n = trailing_deleted_before(line)) o["deletedBefore"] = *n;
      }
      return std::move(o);
    }
  }
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  v.as_object().erase("events");
  return std::move(v.as_object());
}

bool field_is(const boost::json::object& o, std::string_view key,
              const std::optional<std::string>& want) {
  if (!want) return true;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() && v->as_string() == *want;
}

// The entries of a file's lines (those whose id can be read).
persistence::result<std::vector<workflow_archive::entry>> scan_entries(
    const std::filesystem::path& file) {
  std::vector<workflow_archive::entry> out;
  auto ok = for_each_line(file, [&out](std::uint64_t offset, std::string_view line) {
    if (auto id = line_id(line)) {
      out.push_back({core::fnv1a_64(*id), offset, static_cast<std::uint32_t>(line.size())});
    }
  });
  if (!ok) return fail(std::move(ok).error());
  return out;
}

// Writes <file>.idx for a closed file (a temporary file renamed into place, synced).
persistence::result<persistence::done> write_index(const std::filesystem::path& dir,
                                                   std::uint32_t number, std::uint64_t data_bytes,
                                                   std::vector<workflow_archive::entry> entries) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.offset < b.offset;
  });
  std::string out(k_index_magic);
  put_le(out, data_bytes, 8);
  put_le(out, entries.size(), 8);
  out.reserve(k_index_header + entries.size() * k_entry_bytes);
  for (const auto& e : entries) {
    put_le(out, e.hash, 8);
    put_le(out, e.offset, 8);
    put_le(out, e.length, 4);
  }
  const auto target = index_path(dir, number);
  auto tmp = target;
  tmp += ".tmp";
  fd_guard f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (f.fd < 0) return fail(errc::io_error, "cannot create " + tmp.string() + ": " + errno_text());
  if (!write_all(f.fd, out) || ::fdatasync(f.fd) != 0 || ::rename(tmp.c_str(), target.c_str()) != 0)
    return fail(errc::io_error, "cannot write " + target.string() + ": " + errno_text());
  return persistence::done{};
}

// The entry count of a file's index when it matches the file (`data_bytes`), else nullopt.
std::optional<std::uint64_t> index_entries(int idx_fd, std::uint64_t data_bytes) {
  char head[k_index_header];
  struct stat st {};
  if (::fstat(idx_fd, &st) != 0 || !pread_all(idx_fd, head, sizeof head, 0)) return std::nullopt;
  if (std::string_view(head, k_index_magic.size()) != k_index_magic) return std::nullopt;
  if (get_le(head + 8, 8) != data_bytes) return std::nullopt;
  const auto count = get_le(head + 16, 8);
  if (static_cast<std::uint64_t>(st.st_size) != k_index_header + count * k_entry_bytes)
    return std::nullopt;
  return count;
}

std::optional<std::uint64_t> size_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  if (ec) return std::nullopt;
  return n;
}

bool index_matches(const std::filesystem::path& dir, std::uint32_t number) {
  const auto data = size_of(dir / file_name(number));
  fd_guard f{::open(index_path(dir, number).c_str(), O_RDONLY | O_CLOEXEC)};
  return data && f.fd >= 0 && index_entries(f.fd, *data).has_value();
}

}  // namespace

persistence::result<std::unique_ptr<workflow_archive>> workflow_archive::open(
    archive_settings settings) {
  std::unique_ptr<workflow_archive> a(new workflow_archive(std::move(settings)));
  const auto& dir = a->settings_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail(errc::io_error,
                "cannot create the workflow archive directory " + dir.string() + ": " + ec.message());
  }
  std::vector<std::uint32_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto n = number_of(entry.path().filename().string());
    if (n == 0 || !entry.is_regular_file()) continue;
    a->total_ += entry.file_size();
    numbers.push_back(n);
  }
  if (ec) return fail(errc::io_error, "cannot list the workflow archive " + dir.string() + ": " + ec.message());
  std::sort(numbers.begin(), numbers.end());
  const std::uint32_t newest = numbers.empty() ? 1 : numbers.back();
  if (!numbers.empty()) numbers.pop_back();
  a->closed_ = numbers;
  for (auto n : numbers) {
    if (!index_matches(dir, n)) a->unindexed_.push_back(n);
  }
  if (auto ok = a->open_file(newest); !ok) return fail(std::move(ok).error());
  // A line torn by a crash was never acknowledged (its workflows were not purged): cut it.
  if (a->file_bytes_ > 0) {
    std::string tail(std::min<std::uint64_t>(a->file_bytes_, 1 << 20), '\0');
    const auto from = a->file_bytes_ - tail.size();
    if (!pread_all(a->fd_, tail.data(), tail.size(), from))
      return fail(errc::io_error, "cannot read " + a->path_.string() + ": " + errno_text());
    if (tail.back() != '\n') {
      const auto last = tail.rfind('\n');
      const std::uint64_t keep = last == std::string::npos ? from : from + last + 1;
      core::logger("workflow")->warn(
          "workflow archive: {} ends in a torn line ({} bytes, never acknowledged): cut off",
          a->path_.string(), a->file_bytes_ - keep);
      if (::ftruncate(a->fd_, static_cast<off_t>(keep)) != 0 || ::fdatasync(a->fd_) != 0)
        return fail(errc::io_error, "cannot cut " + a->path_.string() + ": " + errno_text());
      a->total_ -= a->file_bytes_ - keep;
      a->file_bytes_ = keep;
    }
  }
  auto entries = scan_entries(a->path_);
  if (!entries) return fail(std::move(entries).error());
  a->current_ = std::move(*entries);
  return a;
}

workflow_archive::~workflow_archive() {
  if (fd_ >= 0) ::close(fd_);
}

persistence::result<persistence::done> workflow_archive::open_file(std::uint32_t number) {
  auto path = settings_.dir / file_name(number);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return fail(errc::io_error, "cannot open " + path.string() + ": " + errno_text());
  const auto size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    ::close(fd);
    return fail(errc::io_error, "cannot read the size of " + path.string() + ": " + errno_text());
  }
  // The directory entry of a new file must survive a crash too.
  if (const int d = ::open(settings_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = std::move(path);
  number_ = number;
  file_bytes_ = static_cast<std::uint64_t>(size);
  return persistence::done{};
}

persistence::result<std::uint64_t> workflow_archive::append(const std::vector<std::string>& lines) {
  std::string buf;
  for (const auto& l : lines) buf.append(l).push_back('\n');
  if (buf.empty()) return total_;
  if (total_ + buf.size() > settings_.max_bytes) {
    return fail(errc::io_error, "the workflow archive " + settings_.dir.string() + " is full (" +
                                    std::to_string(total_) +
                                    " bytes, pekko.workflow.retention.archive-max-bytes = " +
                                    std::to_string(settings_.max_bytes) +
                                    "): move its files away to go on deleting");
  }
  if (file_bytes_ > 0 && file_bytes_ + buf.size() > settings_.max_file_bytes) {
    const auto closed = number_;
    const auto closed_bytes = file_bytes_;
    if (auto ok = open_file(number_ + 1); !ok) return fail(std::move(ok).error());
    closed_.push_back(closed);
    if (auto ok = write_index(settings_.dir, closed, closed_bytes, std::move(current_)); !ok) {
      core::logger("workflow")
          ->warn("workflow archive: {} (rebuilt at the next start)", ok.error().describe());
      unindexed_.push_back(closed);
    }
    current_.clear();
  }
  if (!write_all(fd_, buf) || ::fdatasync(fd_) != 0) {
    auto message = "cannot write to " + path_.string() + ": " + errno_text();
    // Nothing of a refused append may stay: a later line would follow a torn one.
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
      message += " (and cutting it back failed: " + errno_text() + ")";
    }
    return fail(errc::io_error, std::move(message));
  }
  std::uint64_t offset = file_bytes_;
  for (const auto& l : lines) {
    if (auto id = line_id(l)) {
      current_.push_back({core::fnv1a_64(*id), offset, static_cast<std::uint32_t>(l.size())});
    }
    offset += l.size() + 1;
  }
  file_bytes_ += buf.size();
  total_ += buf.size();
  return total_;
}

persistence::result<std::optional<std::string>> workflow_archive::find(std::string_view id) const {
  const auto hash = core::fnv1a_64(id);
  for (auto it = current_.rbegin(); it != current_.rend(); ++it) {
    if (it->hash != hash) continue;
    std::string line(it->length, '\0');
    if (!pread_all(fd_, line.data(), line.size(), it->offset))
      return fail(errc::io_error, "cannot read " + path_.string() + ": " + errno_text());
    if (line_id(line) == id) return std::optional<std::string>(std::move(line));
  }
  for (auto n = closed_.rbegin(); n != closed_.rend(); ++n) {
    auto found = find_in(*n, id, hash);
    if (!found || *found) return found;
  }
  return std::optional<std::string>();
}

// The newest line of `id` in a closed file: through its index when it matches the file,
// else line by line. A file moved away holds nothing.
persistence::result<std::optional<std::string>> workflow_archive::find_in(
    std::uint32_t number, std::string_view id, std::uint64_t hash) const {
  const auto data_path = settings_.dir / file_name(number);
  fd_guard data{::open(data_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (data.fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return fail(errc::io_error, "cannot open " + data_path.string() + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(data.fd, &st) != 0)
    return fail(errc::io_error,
                "cannot read the size of " + data_path.string() + ": " + errno_text());
  fd_guard idx{::open(index_path(settings_.dir, number).c_str(), O_RDONLY | O_CLOEXEC)};
  const auto count =
      idx.fd >= 0 ? index_entries(idx.fd, static_cast<std::uint64_t>(st.st_size)) : std::nullopt;
  if (!count) {
    std::optional<std::string> last;
    auto ok = for_each_line(data_path, [&](std::uint64_t, std::string_view line) {
      if (line_id(line) == id) last = std::string(line);
    });
    if (!ok) return fail(std::move(ok).error());
    return last;
  }
  char e[k_entry_bytes];
  auto entry_at = [&](std::uint64_t i) -> std::optional<entry> {
    if (!pread_all(idx.fd, e, sizeof e, k_index_header + i * k_entry_bytes)) return std::nullopt;
    return entry{get_le(e, 8), get_le(e + 8, 8), static_cast<std::uint32_t>(get_le(e + 16, 4))};
  };
  // The first entry with the hash; the newest line of the id is the last of them.
  std::uint64_t lo = 0;
  std::uint64_t hi = *count;
  while (lo < hi) {
    const auto mid = lo + (hi - lo) / 2;
    auto m = entry_at(mid);
    if (!m)
      return fail(errc::io_error, "cannot read " + index_path(settings_.dir, number).string());
    if (m->hash < hash)
      lo = mid + 1;
    else
      hi = mid;
  }
  std::vector<entry> candidates;
  for (auto i = lo; i < *count; ++i) {
    auto m = entry_at(i);
    if (!m || m->hash != hash) break;
    candidates.push_back(*m);
  }
  for (auto c = candidates.rbegin(); c != candidates.rend(); ++c) {
    std::string line(c->length, '\0');
    if (!pread_all(data.fd, line.data(), line.size(), c->offset))
      return fail(errc::io_error, "cannot read " + data_path.string() + ": " + errno_text());
    if (line_id(line) == id) return std::optional<std::string>(std::move(line));
  }
  return std::optional<std::string>();
}

bool workflow_archive::index_one() {
  if (unindexed_.empty()) return false;
  const auto number = unindexed_.back();
  unindexed_.pop_back();
  const auto data_path = settings_.dir / file_name(number);
  const auto bytes = size_of(data_path);
  auto entries =
      bytes ? scan_entries(data_path) : fail(errc::io_error, data_path.string() + " is gone");
  auto ok = entries ? write_index(settings_.dir, number, *bytes, std::move(*entries))
                    : fail(std::move(entries).error());
  auto log = core::logger("workflow");
  if (ok) {
    log->info("workflow archive: indexed {}", data_path.string());
  } else {
    log->warn("workflow archive: cannot index {} (its reads go line by line): {}",
              data_path.string(), ok.error().describe());
  }
  return true;
}

persistence::result<std::string> workflow_archive::list(const archive_list& q) const {
  std::uint32_t file = 0;
  std::uint64_t offset = 0;
  if (!q.cursor.empty()) {
    const auto colon = q.cursor.find(':');
    const auto* b = q.cursor.data();
    const auto* e = b + q.cursor.size();
    auto [p1, ec1] = std::from_chars(b, b + (colon == std::string::npos ? 0 : colon), file);
    auto [p2, ec2] = colon == std::string::npos
                         ? std::from_chars_result{b, std::errc::invalid_argument}
                         : std::from_chars(b + colon + 1, e, offset);
    if (ec1 != std::errc{} || ec2 != std::errc{} || p1 != b + colon || p2 != e)
      return fail(errc::invalid_argument, "cursor: is not a cursor of this listing");
  }
  auto files = closed_;
  files.push_back(number_);
  const auto limit = std::max<std::uint32_t>(q.limit, 1);
  const std::uint64_t max_lines = std::uint64_t{limit} * k_list_lines_per_item;
  boost::json::array items;
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  std::string next;
  for (const auto n : files) {
    if (n < file) continue;
    const auto path = settings_.dir / file_name(n);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;  // moved away
    bool stopped = false;
    auto end = read_lines(path, n == file ? offset : 0, [&](std::uint64_t, std::string_view line) {
      ++lines;
      bytes += line.size() + 1;
      if (auto head = line_head(line); head && field_is(*head, "status", q.status) &&
                                       field_is(*head, "definition", q.definition))
        items.push_back(std::move(*head));
      stopped = items.size() == limit || lines >= max_lines || bytes >= settings_.list_max_bytes;
      return !stopped;
    });
    if (!end) return fail(std::move(end).error());
    if (stopped) {
      next = std::to_string(n) + ":" + std::to_string(*end);
      break;
    }
  }
  boost::json::object out{{"items", std::move(items)}};
  if (!next.empty()) out["nextCursor"] = next;
  return boost::json::serialize(out);
}

persistence::result<std::string> archived_page_json(std::string_view line, std::uint64_t from,
                                                    std::uint32_t limit) {
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object())
    return fail(errc::corruption, "an archived line is not a JSON object: " + ec.message());
  auto& o = v.as_object();
  boost::json::array page;
  std::optional<std::uint64_t> next;
  if (auto* events = o.if_contains("events"); events != nullptr && events->is_array()) {
    for (auto& ev : events->as_array()) {
      const auto* seq = ev.is_object() ? ev.as_object().if_contains("seq") : nullptr;
      const auto* n = seq != nullptr ? seq->if_uint64() : nullptr;
      const auto* i = seq != nullptr ? seq->if_int64() : nullptr;
      const std::uint64_t s =
          n != nullptr ? *n : (i != nullptr && *i > 0 ? static_cast<std::uint64_t>(*i) : 0);
      if (s < from) continue;
      if (page.size() == limit) {
        next = s;
        break;
      }
      page.push_back(std::move(ev));
    }
  }
  o.erase("deletedBefore");
  std::optional<std::uint64_t> first;
  if (!page.empty()) {
    const auto& seq = page.front().as_object().at("seq");
    first = seq.is_uint64() ? seq.get_uint64() : static_cast<std::uint64_t>(seq.get_int64());
  }
  o["events"] = std::move(page);
  if (next) o["nextFrom"] = *next;
  if (first && *first > from) o["deletedBefore"] = *first;
  return boost::json::serialize(o);
}

namespace {

using index_atom = caf::atom_constant<caf::atom("arcindex")>;

// Missing indexes are built one file per message after the start, so appends and reads
// wait for one file's scan at most.
caf::behavior archiver(caf::event_based_actor* self, std::shared_ptr<workflow_archive> archive) {
  if (archive->unindexed() > 0) self->send(self, index_atom::value);
  return {
      [archive](archive_lines& a) -> archive_result { return archive->append(a.lines); },
      [archive](archive_list& q) -> archive_read_result {
        auto body = archive->list(q);
        if (!body) return fail(std::move(body).error());
        return archived_page{true, std::move(*body)};
      },
      [archive](archive_read& q) -> archive_read_result {
        auto line = archive->find(q.id);
        if (!line) return fail(std::move(line).error());
        if (!*line) return archived_page{};
        auto body = archived_page_json(**line, q.from, q.limit);
        if (!body) return fail(std::move(body).error());
        return archived_page{true, std::move(*body)};
      },
      [self, archive](index_atom) {
        if (archive->index_one() && archive->unindexed() > 0) self->send(self, index_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_archiver(caf::actor_system& sys, std::shared_ptr<workflow_archive> archive) {
  return sys.spawn<caf::detached>(archiver, std::move(archive));
}

}  // namespace wfe::workflow::runtime
