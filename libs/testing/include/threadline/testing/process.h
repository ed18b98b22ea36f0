#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace threadline::testing {

// A child process for end-to-end tests: started with fork/exec, output to a
// log file, killed with SIGKILL on destruction if still running.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig`; with SIGKILL also reaps the process.
  void Kill(int sig);
  // Waits up to `timeout` for exit; returns the exit status or -1.
  int Wait(std::chrono::milliseconds timeout);
  // The process's output so far (for failure messages).
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// Path of a binary built by this project, from the environment variable
// `env` that CTest sets (for example THREADLINE_BIN).
std::string BinaryFromEnv(const char* env);

}  // namespace threadline::testing
