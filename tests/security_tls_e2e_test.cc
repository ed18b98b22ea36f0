// TLS and mutual TLS through the real binary, with a CA and certificates
// made at test time by the openssl command-line tool (label `security`);
// and the Kafka client's security settings reaching librdkafka: a bad one
// stops `threadline serve` at start with a message naming it.

#include <grpcpp/security/credentials.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "security_support.h"

namespace threadline::testing {
namespace {

using grpc::StatusCode;

constexpr char kToken[] = "tls-admin-token-5d1c0a9e7b3f42aa";

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the openssl CLI; fails the test with its output on error.
void OpenSsl(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  std::vector<std::string> argv{"/bin/sh", "-c"};
  std::string cmd = "cd '" + dir.string() + "' &&";
  for (const auto& a : args) cmd += " '" + a + "'";
  argv.push_back(cmd);
  ChildProcess p(argv, (dir / "openssl.log").string());
  ASSERT_EQ(p.Wait(std::chrono::seconds(60)), 0) << cmd << "\n" << p.Log();
}

// A CA, a server certificate for localhost / 127.0.0.1 and a client
// certificate, all signed by the CA; and a second CA nobody trusts.
struct Pki {
  std::filesystem::path dir;
  std::string ca() const { return ReadFile(dir / "ca.pem"); }
  std::string client_cert() const { return ReadFile(dir / "client.pem"); }
  std::string client_key() const { return ReadFile(dir / "client.key"); }
  std::string other_ca() const { return ReadFile(dir / "other-ca.pem"); }
};

void MakePki(const std::filesystem::path& dir) {
  auto ca = [&](const std::string& name) {
    OpenSsl(dir, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                  name + ".pem", "-days", "2", "-subj", "/CN=Threadline test " + name});
  };
  ca("ca");
  ca("other-ca");
  auto leaf = [&](const std::string& name, const std::string& ext) {
    OpenSsl(dir, {"req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                  name + ".csr", "-subj", "/CN=" + name});
    std::ofstream(dir / (name + ".ext")) << ext;
    OpenSsl(dir,
            {"x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"});
  };
  leaf("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  leaf("client", "extendedKeyUsage=clientAuth\n");
}

// `threadline serve` over TLS; SuiteProcess speaks plaintext, so this one
// waits for the "listening" line and checks health itself.
class TlsSuite {
 public:
  TlsSuite(const std::filesystem::path& dir, const std::filesystem::path& pki, bool mutual)
      : port_(FreePort()) {
    std::filesystem::create_directories(dir);
    WriteTokensFile(dir / "tokens", {{kToken, "admin"}});
    std::vector<std::string> argv{BinaryFromEnv("THREADLINE_BIN"),
                                  "serve",
                                  "--data-dir",
                                  (dir / "data").string(),
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--tokens-file",
                                  (dir / "tokens").string(),
                                  "--tls-cert",
                                  (pki / "server.pem").string(),
                                  "--tls-key",
                                  (pki / "server.key").string()};
    if (mutual) {
      argv.push_back("--tls-client-ca");
      argv.push_back((pki / "ca.pem").string());
    }
    process_ = std::make_unique<ChildProcess>(argv, (dir / "suite.log").string());
    bool listening = WaitFor(
        [&] {
          return !process_->running() ||
                 process_->Log().find("listening on port") != std::string::npos;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(listening && process_->running()) << process_->Log();
  }
  ~TlsSuite() {
    process_->Kill(SIGTERM);
    if (process_->Wait(std::chrono::seconds(20)) < 0) process_->Kill(SIGKILL);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return process_->Log(); }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& target,
                                          grpc::SslCredentialsOptions o) {
  grpc::ChannelArguments args;
  // Fail fast: a refused handshake is retried with backoff otherwise.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(o), args);
}

// A Threadline RPC with the admin token; FindCustomer for nobody is OK.
grpc::Status Find(const std::shared_ptr<grpc::Channel>& channel) {
  v1::FindCustomerRequest r;
  r.set_query("nobody@example.com");
  v1::FindCustomerResponse resp;
  return v1::JourneyService::NewStub(channel)->FindCustomer(
      Ctx(kToken, std::chrono::seconds(5)).get(), r, &resp);
}

bool ServingOver(const std::shared_ptr<grpc::Channel>& channel) {
  return WaitFor(
      [&] {
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp).ok() &&
               resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      std::chrono::seconds(30));
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(pki_);
    MakePki(pki_);
  }
  TempDir dir_;
  std::filesystem::path pki_ = dir_.path() / "pki";
};

TEST_F(Tls, ClientWithTheCaSucceedsPlaintextAndUntrustingClientsFail) {
  TlsSuite suite(dir_.path() / "tls", pki_, /*mutual=*/false);
  Pki pki{pki_};

  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = pki.ca();
  auto good = TlsChannel(suite.target(), trusting);
  ASSERT_TRUE(ServingOver(good)) << suite.Log();
  auto s = Find(good);
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();

  // Plaintext to a TLS port: the handshake never happens.
  auto plain = grpc::CreateChannel(suite.target(), grpc::InsecureChannelCredentials());
  s = Find(plain);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();

  // TLS trusting another CA: the server's certificate does not verify.
  grpc::SslCredentialsOptions untrusting;
  untrusting.pem_root_certs = pki.other_ca();
  s = Find(TlsChannel(suite.target(), untrusting));
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(Tls, MutualTlsRejectsAClientWithoutACertificate) {
  TlsSuite suite(dir_.path() / "mtls", pki_, /*mutual=*/true);
  Pki pki{pki_};

  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = pki.ca();
  with_cert.pem_cert_chain = pki.client_cert();
  with_cert.pem_private_key = pki.client_key();
  auto good = TlsChannel(suite.target(), with_cert);
  ASSERT_TRUE(ServingOver(good)) << suite.Log();
  auto s = Find(good);
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();

  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = pki.ca();
  s = Find(TlsChannel(suite.target(), no_cert));
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();

  auto plain = grpc::CreateChannel(suite.target(), grpc::InsecureChannelCredentials());
  s = Find(plain);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
}

// --kafka-config settings reach librdkafka: values it refuses stop the
// process at start, naming the setting; nothing needs a broker for that.
TEST(KafkaSecurityConfig, BadSettingsAreRefusedAtStartNamingTheSetting) {
  TempDir dir;
  struct Bad {
    std::string config;
    std::string expect;  // in the output
  };
  const std::vector<Bad> bad = {
      {"security.protocol=bogus", "security.protocol"},
      {"security.protocol=SSL;ssl.ca.location=/nonexistent/threadline-ca.pem", "ssl.ca.location"},
      {"security.protocol=SASL_SSL;sasl.mechanisms=NOPE", "NOPE"},
      {"no.such.property=1", "no.such.property"},
      {"missing-equals-sign", "KEY=VALUE"},
  };
  int n = 0;
  for (const auto& b : bad) {
    const auto data = dir.path() / ("data-" + std::to_string(n));
    const auto log = dir.path() / ("serve-" + std::to_string(n++) + ".log");
    ChildProcess p({BinaryFromEnv("THREADLINE_BIN"), "serve", "--target", "sales,privacy",
                    "--kafka-brokers", "127.0.0.1:1", "--kafka-config", b.config, "--data-dir",
                    data.string(), "--listen", "127.0.0.1:0"},
                   log.string());
    int status = p.Wait(std::chrono::seconds(30));
    EXPECT_NE(status, -1) << b.config << ": still running; log:\n" << p.Log();
    if (status == -1) p.Kill(SIGKILL);
    EXPECT_NE(status, 0) << b.config << ": started anyway";
    EXPECT_NE(p.Log().find(b.expect), std::string::npos)
        << b.config << ": the message does not name '" << b.expect << "':\n"
        << p.Log();
    EXPECT_EQ(p.Log().find("listening on port"), std::string::npos) << b.config;
  }
}

}  // namespace
}  // namespace threadline::testing
