#include "engine/workflow/runtime/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

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
  std::uint32_t newest = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto n = number_of(entry.path().filename().string());
    if (n == 0 || !entry.is_regular_file()) continue;
    a->total_ += entry.file_size();
    newest = std::max(newest, n);
  }
  if (ec) return fail(errc::io_error, "cannot list the workflow archive " + dir.string() + ": " + ec.message());
  if (auto ok = a->open_file(newest == 0 ? 1 : newest); !ok) return fail(std::move(ok).error());
  // A line torn by a crash was never acknowledged (its workflows were not purged): cut it.
  if (a->file_bytes_ > 0) {
    std::string tail(std::min<std::uint64_t>(a->file_bytes_, 1 << 20), '\0');
    const auto from = a->file_bytes_ - tail.size();
    if (::pread(a->fd_, tail.data(), tail.size(), static_cast<off_t>(from)) !=
        static_cast<ssize_t>(tail.size()))
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
    if (auto ok = open_file(number_ + 1); !ok) return fail(std::move(ok).error());
  }
  std::size_t written = 0;
  while (written < buf.size()) {
    const auto n = ::write(fd_, buf.data() + written, buf.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written < buf.size() || ::fdatasync(fd_) != 0) {
    auto message = "cannot write to " + path_.string() + ": " + errno_text();
    // Nothing of a refused append may stay: a later line would follow a torn one.
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
      message += " (and cutting it back failed: " + errno_text() + ")";
    }
    return fail(errc::io_error, std::move(message));
  }
  file_bytes_ += buf.size();
  total_ += buf.size();
  return total_;
}

namespace {

caf::behavior archiver(caf::event_based_actor*, std::shared_ptr<workflow_archive> archive) {
  return {
      [archive](archive_lines& a) -> archive_result { return archive->append(a.lines); },
  };
}

}  // namespace

caf::actor spawn_archiver(caf::actor_system& sys, std::shared_ptr<workflow_archive> archive) {
  return sys.spawn<caf::detached>(archiver, std::move(archive));
}

}  // namespace wfe::workflow::runtime
