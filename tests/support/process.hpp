#pragma once
// Runs the real workflow-engine binary as a child process with its stdout and
// stderr captured in files (test helper for end-to-end tests).

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

extern char** environ;

namespace wfe::test {

// Runs `command` with /bin/sh; its stdout, and its exit status (pclose's) in `status`
// (-1 when it could not be started).
inline std::string shell_output(const std::string& command, int& status) {
  std::string out;
  FILE* f = ::popen(command.c_str(), "r");
  if (f == nullptr) {
    status = -1;
    return out;
  }
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  status = ::pclose(f);
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class process {
 public:
  // Starts `binary args...` with extra "NAME=value" environment entries; output goes
  // to <log_dir>/stdout and <log_dir>/stderr.
  process(const std::string& binary, const std::vector<std::string>& args,
          const std::filesystem::path& log_dir, const std::vector<std::string>& extra_env = {})
      : out_(log_dir / "stdout"), err_(log_dir / "stderr") {
    std::vector<std::string> argv_s{binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    // fork + exec rather than posix_spawn, to ask for SIGKILL when this test binary
    // dies: a test that crashes (or that CTest kills on its timeout) runs no destructor,
    // and its nodes would go on running and holding their ports. Linux sends the signal
    // when the *thread* that forked ends; tests start processes from their main thread.
    // Only async-signal-safe calls between fork and exec. A node run through setpriv
    // (another uid) loses the setting when its credentials change, unless setpriv is
    // told to set it again (--pdeathsig=SIGKILL, as engine_cluster.test.cpp does).
    const pid_t parent = ::getpid();
    const char* out_path = out_.c_str();
    const char* err_path = err_.c_str();
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
      const int out_fd = ::open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int err_fd = ::open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out_fd < 0 || err_fd < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ < 0) pid_ = -1;
  }
  ~process() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (pid_ > 0) fail_on_sanitizer_report();
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  // The exit code once the process ended within `timeout` (128+N for signal N).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_) {
      int st = 0;
      auto r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  // The first sanitizer report in the child's stderr ("SUMMARY: <Name>Sanitizer: ..."):
  // AddressSanitizer, LeakSanitizer, ThreadSanitizer, UndefinedBehaviorSanitizer.
  [[nodiscard]] std::optional<std::string> sanitizer_report() const {
    const auto err = stderr_text();
    for (auto at = err.find("SUMMARY: "); at != std::string::npos;
         at = err.find("SUMMARY: ", at + 1)) {
      const auto end = err.find('\n', at);
      auto line = err.substr(at, end == std::string::npos ? std::string::npos : end - at);
      if (line.find("Sanitizer") != std::string::npos) return line;
    }
    return std::nullopt;
  }

  [[nodiscard]] std::string stdout_text() const { return read_file(out_); }
  [[nodiscard]] std::string stderr_text() const { return read_file(err_); }

  // Waits until stdout contains `needle`; returns the whole line holding it.
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    do {
      auto text = stdout_text();
      auto at = text.find(needle);
      if (at != std::string::npos) {
        auto begin = text.rfind('\n', at);
        begin = begin == std::string::npos ? 0 : begin + 1;
        auto end = text.find('\n', at);
        return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
      }
      if (wait(std::chrono::milliseconds(0))) return std::nullopt;  // exited
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < until);
    return std::nullopt;
  }

 private:
  // Under `make sanitize` or `make tsan` the nodes are instrumented too, but a node the
  // test kills never exits with the sanitizer's code, and its stderr goes with its temp
  // dir: so a report there fails the test that ran it (as the report of a test binary
  // fails its test).
  void fail_on_sanitizer_report() const {
    const auto report = sanitizer_report();
    if (!report) return;
    const auto message = "the child process " + std::to_string(pid_) + " (" + err_.string() +
                         ") reported: " + *report + "\n" + stderr_text().substr(0, 16384);
    if (doctest::is_running_in_test) {
      FAIL_CHECK(message);
    } else {
      std::fputs(message.c_str(), stderr);
    }
  }

  std::filesystem::path out_;
  std::filesystem::path err_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace wfe::test
