#pragma once
// `panorama serve` as a child process for the durability harnesses (SECURITY.md §3 R2, R6): starts the real
// binary on a free loopback port with its output appended to a log file, waits for "listening on", and kills it.
// Header-only; POSIX.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace panorama::testing {

struct ServeProcess {
  pid_t pid = -1;
  uint16_t port = 0;  // 0: it did not come up
  double startup_seconds = 0;
};

inline int EnvIntOr(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::atoi(value) : fallback;
}

// Starts `binary serve --data data_dir --listen 127.0.0.1:0 --no-access-log [extra_args]` with `env` added to the
// environment; waits up to 10 s for its "listening on" line in `log_path` (appended to).
inline ServeProcess StartServe(const std::string& binary, const std::string& data_dir, const std::string& log_path,
                               const std::vector<std::pair<std::string, std::string>>& env,
                               const std::vector<std::string>& extra_args = {}) {
  using Clock = std::chrono::steady_clock;
  auto offset = std::filesystem::exists(log_path) ? std::filesystem::file_size(log_path) : 0;
  ServeProcess server;
  auto start = Clock::now();
  server.pid = fork();
  if (server.pid < 0) std::abort();
  if (server.pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<const char*> argv = {binary.c_str(), "serve", "--data", data_dir.c_str(), "--listen", "127.0.0.1:0",
                                     "--no-access-log"};
    for (const auto& arg : extra_args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    execv(binary.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  while (Clock::now() - start < std::chrono::seconds(10)) {
    std::ifstream log(log_path);
    log.seekg(static_cast<std::streamoff>(offset));
    std::string line;
    while (std::getline(log, line)) {
      unsigned p = 0;
      if (std::sscanf(line.c_str(), "listening on http://127.0.0.1:%u", &p) == 1) {
        server.port = static_cast<uint16_t>(p);
        server.startup_seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return server;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return server;
}

// SIGKILLs the server and reaps it; true when it was still running (killed by the signal).
inline bool KillServe(ServeProcess& server) {
  if (server.pid <= 0) return false;
  kill(server.pid, SIGKILL);
  int status = 0;
  waitpid(server.pid, &status, 0);
  server.pid = -1;
  return WIFSIGNALED(status);
}

// `dir`/`name`, emptied, with `dir` created: the log of one harness run, which the log-hygiene scan (S17) reads.
inline std::string FreshLog(const std::string& dir, const std::string& name) {
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name;
  std::filesystem::remove(path);
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace panorama::testing
