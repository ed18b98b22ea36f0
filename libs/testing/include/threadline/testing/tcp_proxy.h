#pragma once

// A TCP proxy on 127.0.0.1 in front of a local port, for clients that go
// quiet without closing their connection: after Freeze() it passes no byte
// either way but keeps every connection open, as a client whose machine
// vanished or that stopped reading would.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace threadline::testing {

class TcpProxy {
 public:
  // Listens on a free loopback port and forwards each connection to
  // 127.0.0.1:`target_port`.
  explicit TcpProxy(int target_port);
  // Closes every connection and stops.
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // From now on nothing is read from either side (so nothing is passed on,
  // and the peers' writes back up); connections stay open.
  void Freeze() { frozen_ = true; }

 private:
  void Accept();
  void Pipe(int from, int to);

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> fds_;              // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace threadline::testing
