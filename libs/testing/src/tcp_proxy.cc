#include "threadline/testing/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace threadline::testing {
namespace {

// How often the proxy's threads look at the stop and freeze flags while
// waiting for data.
constexpr int kPollMs = 20;

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::abort();
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) Die("proxy socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("proxy bind");
  if (::listen(listen_fd_, 64) != 0) Die("proxy listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu_);
  for (int fd : fds_) ::close(fd);
  ::close(listen_fd_);
}

void TcpProxy::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(target_port_));
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    std::lock_guard lock(mu_);
    fds_.push_back(client);
    fds_.push_back(server);
    threads_.emplace_back([this, client, server] { Pipe(client, server); });
    threads_.emplace_back([this, client, server] { Pipe(server, client); });
  }
}

void TcpProxy::Pipe(int from, int to) {
  char buf[16 * 1024];
  while (!stopping_) {
    if (frozen_) {
      ::poll(nullptr, 0, kPollMs);  // nothing to watch: only the flags
      continue;
    }
    pollfd p{from, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    if (frozen_) continue;
    ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n <= 0) {
      ::shutdown(to, SHUT_WR);
      return;
    }
    if (!WriteAll(to, buf, static_cast<size_t>(n))) return;
  }
}

}  // namespace threadline::testing
