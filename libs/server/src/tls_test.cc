// TLS and mutual TLS against certificates made at test time with OpenSSL's
// C API: no tools, no checked-in keys.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "test_billing_service.h"
#include "threadline/server/server.h"
#include "threadline/testing/testing.h"

namespace threadline::server {
namespace {

using ::testing::HasSubstr;
using threadline::server::testing::TestBillingService;

constexpr char kBillingToken[] = "billing-0123456789abcdef";

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

// A key pair and its certificate, as PEM.
struct Identity {
  Key key;
  Cert cert;
  std::string key_pem;
  std::string cert_pem;
};

std::string ToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string ToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a P-256 certificate for `cn`, signed by `issuer` (self-signed when
// null). A CA when `ca`; otherwise a leaf for `usage` (serverAuth or
// clientAuth) with `san` as subjectAltName.
Identity Issue(const std::string& cn, const Identity* issuer, bool ca, const char* usage = "",
               const char* san = nullptr) {
  static long serial = 1;
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  EXPECT_NE(id.key, nullptr);
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  if (ca) {
    AddExtension(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExtension(x, issuer_cert, NID_subject_key_identifier, "hash");
  } else {
    AddExtension(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(x, issuer_cert, NID_key_usage, "critical,digitalSignature");
    AddExtension(x, issuer_cert, NID_ext_key_usage, usage);
    if (san) AddExtension(x, issuer_cert, NID_subject_alt_name, san);
  }
  EXPECT_GT(X509_sign(x, issuer ? issuer->key.get() : id.key.get(), EVP_sha256()), 0);
  id.key_pem = ToPem(id.key.get());
  id.cert_pem = ToPem(x);
  return id;
}

void WriteFile(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
  }
  // As an operator should keep a tokens file (the server warns otherwise).
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = Issue("Threadline Test CA", nullptr, true);
    server_id_ = Issue("localhost", &ca_, false, "serverAuth", "DNS:localhost,IP:127.0.0.1");
    client_id_ = Issue("agent-desktop", &ca_, false, "clientAuth");
    other_ca_ = Issue("Someone Else's CA", nullptr, true);
    stranger_ = Issue("stranger", &other_ca_, false, "clientAuth");
    WriteFile(Path("ca.pem"), ca_.cert_pem);
    WriteFile(Path("server.pem"), server_id_.cert_pem);
    WriteFile(Path("server.key"), server_id_.key_pem);
    WriteFile(Path("tokens"), std::string(kBillingToken) + " bea billing\n");
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
  }

  std::string Path(const std::string& name) const { return dir_.str() + "/" + name; }

  ServerOptions TlsOptions() const {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tokens_file = Path("tokens");
    o.tls_cert = Path("server.pem");
    o.tls_key = Path("server.key");
    return o;
  }

  void StartServer(const ServerOptions& options) {
    auto server = GrpcServer::Start(options, {&service_});
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  // Calls GetAccount over TLS trusting `trusted_ca`, presenting `client`'s
  // certificate if given, with the billing token as call credentials.
  grpc::Status Call(const std::string& trusted_ca, const Identity* client,
                    v1::Account* out = nullptr) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = trusted_ca;
    if (client) {
      ssl.pem_private_key = client->key_pem;
      ssl.pem_cert_chain = client->cert_pem;
    }
    auto creds = grpc::CompositeChannelCredentials(grpc::SslCredentials(ssl),
                                                   grpc::AccessTokenCredentials(kBillingToken));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return CallOn(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()), creds, args),
        out);
  }

  grpc::Status CallOn(const std::shared_ptr<grpc::Channel>& channel, v1::Account* out) {
    auto stub = v1::BillingService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetAccountRequest request;
    request.set_customer_id("cus_1");
    v1::Account account;
    grpc::Status s = stub->GetAccount(&ctx, request, &account);
    if (out) *out = account;
    return s;
  }

  threadline::testing::TempDir dir_;
  Identity ca_, server_id_, client_id_, other_ca_, stranger_;
  TestBillingService service_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(TlsTest, ServesOverTlsWithTokens) {
  StartServer(TlsOptions());
  v1::Account account;
  grpc::Status s = Call(ca_.cert_pem, nullptr, &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.customer_id(), "bea/billing");
}

TEST_F(TlsTest, RejectsPlaintextAndUntrustedServerCertificates) {
  StartServer(TlsOptions());
  grpc::Status s = CallOn(grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                              grpc::InsecureChannelCredentials()),
                          nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  s = Call(other_ca_.cert_pem, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  ServerOptions options = TlsOptions();
  options.tls_client_ca = Path("ca.pem");
  StartServer(options);
  v1::Account account;
  grpc::Status s = Call(ca_.cert_pem, &client_id_, &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.customer_id(), "bea/billing");

  EXPECT_EQ(Call(ca_.cert_pem, nullptr).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(ca_.cert_pem, &stranger_).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, BadTlsOptionsAreExplained) {
  struct Case {
    std::function<void(ServerOptions&)> edit;
    absl::StatusCode code;
    std::string message;
  };
  WriteFile(Path("other.key"), client_id_.key_pem);
  WriteFile(Path("not-pem"), "hello");
  const std::vector<Case> cases = {
      {[](ServerOptions& o) { o.tls_key.clear(); }, absl::StatusCode::kInvalidArgument,
       "go together"},
      {[](ServerOptions& o) {
         o.tls_cert.clear();
         o.tls_key.clear();
         o.tls_client_ca = "ca.pem";
       },
       absl::StatusCode::kInvalidArgument, "needs --tls-cert"},
      {[this](ServerOptions& o) { o.tls_key = Path("other.key"); },
       absl::StatusCode::kInvalidArgument, "is not the key of the certificate"},
      {[this](ServerOptions& o) { o.tls_cert = Path("missing.pem"); }, absl::StatusCode::kNotFound,
       "missing.pem"},
      {[this](ServerOptions& o) { o.tls_client_ca = Path("not-pem"); },
       absl::StatusCode::kInvalidArgument, "is not PEM"},
  };
  for (const auto& c : cases) {
    ServerOptions o = TlsOptions();
    c.edit(o);
    auto server = GrpcServer::Start(o, {&service_});
    ASSERT_FALSE(server.ok()) << c.message;
    EXPECT_EQ(server.status().code(), c.code) << server.status();
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace threadline::server
