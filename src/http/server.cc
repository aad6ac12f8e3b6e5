#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "http/internal/header_scan.h"
#include "http/internal/url.h"
#include "http/router.h"
#include "http/static_files.h"

namespace panorama::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// For a same-origin single-page app: everything from our own origin, no plugins, no framing. Inline
// styles are allowed because the chart library sets style attributes; inline scripts are not.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

// After an error that ends the connection, how long and how much we keep reading (and discarding) so
// the client can finish sending and read our answer instead of getting a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 8 * 1024 * 1024;
constexpr size_t kLoggedPathChars = 200;

// Two years, subdomains included (SECURITY.md §1 #16; the HSTS preload list's minimum is one year).
constexpr char kHsts[] = "max-age=63072000; includeSubDomains";
// Mozilla's "intermediate" TLS 1.2 suites restricted to ECDHE with AEAD ciphers (forward secrecy, no CBC, RC4,
// 3DES or static RSA key exchange); TLS 1.3 suites are all AEAD.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kTls13Ciphers[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// Text types are sent with their charset so a browser never guesses. JSON gets none: RFC 8259 §11 defines no
// charset parameter for application/json (it is always UTF-8).
std::string WithCharset(const std::string& content_type) {
  if (content_type.find("charset=") != std::string::npos) return content_type;
  bool text = content_type.starts_with("text/") || content_type.starts_with("application/javascript");
  return text ? content_type + "; charset=utf-8" : content_type;
}

Method ToMethod(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get: return Method::kGet;
    case bhttp::verb::head: return Method::kHead;
    case bhttp::verb::post: return Method::kPost;
    case bhttp::verb::put: return Method::kPut;
    case bhttp::verb::patch: return Method::kPatch;
    case bhttp::verb::delete_: return Method::kDelete;
    case bhttp::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

std::string_view ToStd(beast::string_view text) { return {text.data(), text.size()}; }
beast::string_view ToBeast(std::string_view text) { return {text.data(), text.size()}; }

std::string LowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// S18 (RFC 9112 §6.1–6.3): the only framings we accept are one Content-Length of plain digits, or one
// Transfer-Encoding that is exactly "chunked" on HTTP/1.1. Beast already refuses both together, differing
// lengths and non-digit lengths; it accepts repeated equal lengths (also as a list, "5, 5"), codings other
// than chunked (reading no body) and chunked on HTTP/1.0, which a proxy in front of us may frame differently.
const char* FramingProblem(const bhttp::request_header<>& header) {
  if (header.count(bhttp::field::content_length) > 1) return "more than one content-length";
  if (auto length = header.find(bhttp::field::content_length); length != header.end()) {
    std::string_view digits = ToStd(length->value());
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return "content-length is not a number";
    }
  }
  size_t codings = header.count(bhttp::field::transfer_encoding);
  if (codings == 0) return nullptr;
  if (codings > 1) return "more than one transfer-encoding";
  if (LowerCase(ToStd(header[bhttp::field::transfer_encoding])) != "chunked") {
    return "transfer-encoding other than chunked";
  }
  if (header.version() != 11) return "transfer-encoding before http/1.1";
  return nullptr;
}

// What Stop() needs from a connection, whatever its stream type.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;
  virtual void ForceClose() = 0;
};

// Everything the sessions share. Declaration order matters: sessions unregister themselves from their
// destructors, which run while io_context and the worker pool are destroyed, so the registry comes first.
struct ServerCore {
  ServerCore(ServerOptions opts, Router& r)
      : options(std::move(opts)),
        router(r),
        logger(spdlog::default_logger()),
        workers(static_cast<size_t>(std::max(1, options.worker_threads))),
        acceptor(asio::make_strand(ioc)),
        accept_retry(acceptor.get_executor()),
        work_guard(asio::make_work_guard(ioc)) {}

  void Register(uint64_t id, const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(sessions_mutex);
    sessions.emplace(id, session);
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(id);
    if (sessions.empty()) {
      sessions_cv.notify_all();
    }
  }
  size_t SessionCount() {
    std::lock_guard lock(sessions_mutex);
    return sessions.size();
  }
  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::lock_guard lock(sessions_mutex);
    std::vector<std::shared_ptr<SessionBase>> out;
    for (auto& [id, weak] : sessions) {
      if (auto session = weak.lock()) {
        out.push_back(std::move(session));
      }
    }
    return out;
  }

  size_t BodyLimitFor(std::string_view path) const {
    size_t limit = options.max_body_bytes;
    size_t matched = 0;
    for (const BodyLimit& rule : options.body_limits) {
      if (path.starts_with(rule.prefix) && rule.prefix.size() >= matched) {
        limit = rule.max_body_bytes;
        matched = rule.prefix.size();
      }
    }
    return limit;
  }

  void DoAccept();

  const ServerOptions options;
  Router& router;
  std::optional<StaticFiles> static_files;
  std::unique_ptr<asio::ssl::context> tls;  // set when serving HTTPS
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<bool> stopping{false};
  uint16_t port = 0;

  // Guarded by sessions_mutex.
  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;

  std::atomic<uint64_t> next_session_id{0};
  asio::io_context ioc;
  asio::thread_pool workers;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;  // on the acceptor's strand: a pause after a failed accept (EMFILE)
  uint64_t accept_failures = 0;      // acceptor strand only; for the rate-limited warning
  asio::executor_work_guard<asio::io_context::executor_type> work_guard;
  std::vector<std::thread> io_threads;

  // Guarded by stop_mutex.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stop_started = false;
  bool stopped = false;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One client connection over a plain TCP or a TLS stream. All members are touched only on the connection's
// strand (the stream's executor); handlers running elsewhere come back through asio::post.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

 public:
  template <typename... StreamArgs>
  Session(ServerCore& core, uint64_t id, StreamArgs&&... stream_args)
      : core_(core), stream_(std::forward<StreamArgs>(stream_args)...), id_(id) {
    beast::error_code ec;
    auto endpoint = Lowest().socket().remote_endpoint(ec);
    if (!ec) {
      remote_address_ = endpoint.address().to_string();
    }
  }
  ~Session() override { core_.Unregister(id_); }

  void Start() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(self->core_.options.read_timeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            // A refused protocol version or cipher, or plain HTTP on the TLS port: nothing to answer.
            self->Close();
          } else {
            self->DoReadHeader();
          }
        });
      } else {
        self->DoReadHeader();
      }
    });
  }

  void Reject(int status, Error error) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), status, error = std::move(error)] {
      self->start_ = Clock::now();
      self->SendErrorAndClose(status, error);
    });
  }

  // Stop(): a connection waiting for its next request is closed now; one with a request in flight
  // closes after answering (DoReadHeader and SendResponse check `stopping`).
  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        self->Close();
      }
    });
  }

  void ForceClose() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

  void SendResponse(Response response) {
    if (closed_) {
      return;
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) {
      res->insert(ToBeast(name), ToBeast(value));
    }
    auto set_default = [&](std::string_view name, std::string_view value) {
      if (res->find(ToBeast(name)) == res->end()) {
        res->set(ToBeast(name), ToBeast(value));
      }
    };
    set_default("X-Content-Type-Options", "nosniff");
    set_default("Referrer-Policy", "no-referrer");
    set_default("X-Frame-Options", "DENY");
    set_default("Content-Security-Policy", kContentSecurityPolicy);
    if constexpr (kTls) {
      set_default("Strict-Transport-Security", kHsts);
    }
    // API answers carry personal data: never stored by a browser or a proxy.
    if (log_path_.starts_with("/api/") || log_path_.starts_with("/v1/")) {
      set_default("Cache-Control", "no-store");
    }
    bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    if (!response.content_type.empty() && !no_body) {
      res->set(bhttp::field::content_type, ToBeast(WithCharset(response.content_type)));
    }
    bool close = !keep_alive_ || core_.stopping.load();
    res->keep_alive(!close);
    size_t bytes = response.body.size();
    if (no_body) {
      bytes = 0;
    } else if (method_ == Method::kHead) {
      res->content_length(bytes);  // what GET would send, without the body (RFC 9110 §9.3.2)
      bytes = 0;
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    status_ = response.status;
    response_bytes_ = bytes;
    Lowest().expires_after(core_.options.read_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                         self->OnWrite(ec, close);
                       });
  }

 private:
  void DoReadHeader() {
    if (closed_) {
      return;
    }
    if (core_.stopping.load()) {
      Close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(core_.options.max_header_bytes));
    // The Content-Length check happens while the header is parsed, before we know the path's limit,
    // so read the header with no limit and apply the path's in OnHeader. Not boost::none: Beast 1.74
    // compares the length with the optional, and any length is greater than none.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    idle_ = true;
    // Bytes of the next request already read with the last one: its header's clock runs now.
    bool started = first_request_ || buffer_.size() > 0;
    Lowest().expires_after(started ? core_.options.header_timeout : core_.options.idle_timeout);
    ScanHeaderBytes();
  }

  // S18: Beast unfolds obs-fold into a space, which would let a folded Transfer-Encoding or Content-Length
  // through to our checks unseen. RFC 9112 §5.2 allows a server to refuse it with 400, §2.2 to refuse a bare
  // CR; we also refuse bare LF. So the header section is checked as raw bytes before Beast parses it.
  void ScanHeaderBytes() {
    if (closed_) {
      return;
    }
    auto data = buffer_.data();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    size_t end = bytes.find("\r\n\r\n");
    std::string_view head = bytes.substr(0, end == std::string_view::npos ? bytes.size() : end + 2);
    if (const char* problem = internal::HeaderFramingProblem(head)) {
      idle_ = false;
      start_ = Clock::now();
      SendErrorAndClose(400, Error::InvalidArgument(std::string("malformed http request: ") + problem));
      return;
    }
    if (end != std::string_view::npos || bytes.size() > core_.options.max_header_bytes) {
      // A complete header section (or one over the limit, which Beast answers with header_limit).
      bhttp::async_read_header(stream_, buffer_, *parser_,
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 self->OnHeader(ec);
                               });
      return;
    }
    auto on_read = [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) {
        self->idle_ = false;
        self->start_ = Clock::now();
        self->OnReadError(ec);
        return;
      }
      if (self->buffer_.size() == 0 && n > 0 && !self->first_request_) {
        // The first byte of a kept-alive connection's next request: from here its header has header_timeout.
        self->Lowest().expires_after(self->core_.options.header_timeout);
      }
      self->buffer_.commit(n);
      self->ScanHeaderBytes();
    };
    stream_.async_read_some(buffer_.prepare(4096), std::move(on_read));
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    start_ = Clock::now();
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto& header = parser_->get();
    method_ = ToMethod(header.method());
    log_path_ = std::string(internal::TargetPath(ToStd(header.target())).substr(0, kLoggedPathChars));
    if (method_ == Method::kOther) {
      // TRACE, CONNECT, lower-case or invented methods: nothing here serves them, and answering them on a
      // kept-alive connection would leave the framing of what follows to a guess.
      Response refused =
          Response::Problem(405, Error::InvalidArgument("this request method is not supported"));
      refused.headers.emplace_back("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      keep_alive_ = false;
      linger_ = true;
      SendResponse(std::move(refused));
      return;
    }
    if (const char* problem = FramingProblem(header)) {
      SendErrorAndClose(400, Error::InvalidArgument(std::string("malformed http request: ") + problem));
      return;
    }
    size_t limit = core_.BodyLimitFor(log_path_);
    if (parser_->content_length() && *parser_->content_length() > limit) {
      SendErrorAndClose(413, Error::ResourceExhausted("request body exceeds " +
                                                      std::to_string(limit) + " bytes"));
      return;
    }
    parser_->body_limit(limit);  // enforced while chunked bodies are read
    if (parser_->is_done()) {
      Handle();
      return;
    }
    Lowest().expires_after(core_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code read_ec, size_t) {
                        if (read_ec) {
                          self->OnReadError(read_ec);
                        } else {
                          self->Handle();
                        }
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::bad_descriptor) {
      Close();
    } else if (ec == bhttp::error::header_limit) {
      SendErrorAndClose(431, Error::ResourceExhausted("request header exceeds " +
                                                      std::to_string(core_.options.max_header_bytes) +
                                                      " bytes"));
    } else if (ec == bhttp::error::body_limit) {
      SendErrorAndClose(413, Error::ResourceExhausted("request body exceeds the limit"));
    } else if (ec == bhttp::error::partial_message) {
      Close();
    } else {
      SendErrorAndClose(400, Error::InvalidArgument("malformed http request: " + ec.message()));
    }
  }

  void Handle() {
    Lowest().expires_never();  // handlers may take long; the write sets its own deadline
    auto message = parser_->release();
    keep_alive_ = message.keep_alive();

    Request request;
    request.method = method_;
    request.target = std::string(ToStd(message.target()));
    request.remote_address = remote_address_;
    request.secure = kTls;
    std::string_view raw_path = internal::TargetPath(request.target);
    if (raw_path.empty() || raw_path.front() != '/') {
      SendErrorAndClose(400, Error::InvalidField("target", "must be an absolute path"));
      return;
    }
    auto path = internal::PercentDecode(raw_path, false);
    if (!path) {
      SendErrorAndClose(400, Error::InvalidField("path", path.error().message()));
      return;
    }
    request.path = std::move(path).value();
    if (raw_path.size() < request.target.size()) {
      auto query = internal::ParseQuery(std::string_view(request.target).substr(raw_path.size() + 1));
      if (!query) {
        SendErrorAndClose(400, Error::InvalidField("query", query.error().message()));
        return;
      }
      request.query = std::move(query).value();
    }
    request.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
    for (const auto& field : message) {
      request.headers.emplace_back(LowerCase(ToStd(field.name_string())), std::string(ToStd(field.value())));
    }
    request.body = std::move(message.body());

    RouteMatch match = core_.router.Match(request);
    if (match.async_handler != nullptr) {
      RunAsync(*match.async_handler, std::move(request));
      return;
    }
    const Handler* handler = match.handler;
    bool static_file = false;
    if (handler == nullptr && core_.static_files &&
        (method_ == Method::kGet || method_ == Method::kHead) && match.error &&
        match.error->status == 404 && !request.path.starts_with("/api/") &&
        !request.path.starts_with("/v1/")) {
      static_file = true;
    }
    if (handler == nullptr && !static_file) {
      SendResponse(std::move(*match.error));
      return;
    }
    asio::post(core_.workers, [self = shared_from_this(), handler, static_file,
                               request = std::move(request)]() mutable {
      Response response = self->RunGuarded([&] {
        return static_file ? self->core_.static_files->Serve(request) : (*handler)(request);
      });
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable {
                   self->SendResponse(std::move(response));
                 });
    });
  }

  // The one catch-all per request (STYLE.md §4): a stray exception is our bug; log it, answer 500.
  template <typename Fn>
  Response RunGuarded(Fn&& fn) {
    try {
      return fn();
    } catch (const std::exception& e) {
      core_.logger->error("unhandled exception in {} {}: {}", MethodName(method_), log_path_, e.what());
    } catch (...) {
      core_.logger->error("unhandled non-standard exception in {} {}", MethodName(method_), log_path_);
    }
    return Response::Problem(Error::Internal("internal error"));
  }

  // The responder's shared state: the first call wins; if every copy is dropped uncalled, the client
  // still gets an answer (500) instead of a hung connection.
  struct ResponderState {
    std::shared_ptr<Session<Stream>> session;
    std::atomic<bool> done{false};

    void Respond(Response response) {
      if (done.exchange(true)) {
        return;
      }
      asio::post(session->stream_.get_executor(),
                 [session = session, response = std::move(response)]() mutable {
                   session->SendResponse(std::move(response));
                 });
    }
    ~ResponderState() {
      if (!done.load()) {
        session->core_.logger->error("async handler for {} {} dropped its responder",
                                     MethodName(session->method_), session->log_path_);
        Respond(Response::Problem(Error::Internal("internal error")));
      }
    }
  };

  void RunAsync(const AsyncHandler& handler, Request request) {
    auto state = std::make_shared<ResponderState>();
    state->session = shared_from_this();
    Responder responder = [state](Response response) { state->Respond(std::move(response)); };
    Response failure = RunGuarded([&] {
      handler(request, std::move(responder));
      return Response();
    });
    if (failure.status == 500) {
      state->Respond(std::move(failure));
    }
  }

  void SendErrorAndClose(int status, const Error& error) {
    keep_alive_ = false;
    linger_ = true;
    SendResponse(Response::Problem(status, error));
  }

  void OnWrite(beast::error_code ec, bool close) {
    if (core_.options.access_log) {
      auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
      core_.logger->info("{} {} {} {} {}us", method_ == Method::kOther && log_path_.empty()
                                                  ? "-"
                                                  : MethodName(method_),
                         log_path_.empty() ? "-" : log_path_, status_, response_bytes_, micros);
    }
    if (ec) {
      Close();
      return;
    }
    if (linger_) {
      LingeringClose();
      return;
    }
    if (close) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Close();
      return;
    }
    first_request_ = false;
    DoReadHeader();
  }

  void LingeringClose() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(kLingerTime);
    DrainSome();
  }

  void DrainSome() {
    if (closed_) {
      return;
    }
    drain_buffer_.resize(16 * 1024);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) {
                                self->Close();
                              } else {
                                self->DrainSome();
                              }
                            });
  }

  void Close() {
    if (closed_) {
      return;
    }
    closed_ = true;
    idle_ = false;
    Lowest().close();
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  ServerCore& core_;
  Stream stream_;
  const uint64_t id_;
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string drain_buffer_;
  size_t drained_ = 0;
  bool idle_ = false;  // waiting for the next request's header
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool linger_ = false;
  bool closed_ = false;
  // The request being answered, for the access log.
  Method method_ = Method::kOther;
  std::string log_path_;
  Clock::time_point start_;
  int status_ = 0;
  size_t response_bytes_ = 0;
};

void ServerCore::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      return;
    }
    if (ec) {
      // Out of file descriptors (EMFILE/ENFILE) the pending connection stays queued and accept fails again at
      // once: pause 50 ms so the I/O thread does not spin and the log is not flooded (R16/R17).
      if (accept_failures++ % 100 == 0) {
        logger->warn("accept failed: {} ({} times so far)", ec.message(), accept_failures);
      }
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor.is_open()) DoAccept();
      });
      return;
    } else {
      bool over_limit = SessionCount() >= options.max_connections;
      uint64_t id = next_session_id.fetch_add(1);
      if (tls) {
        // Over the limit, a TLS client gets no 503 (that would need a handshake first): the socket is closed.
        if (over_limit) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto session = std::make_shared<Session<TlsStream>>(*this, id, std::move(socket), *tls);
          Register(id, session);
          session->Start();
        }
      } else {
        auto session = std::make_shared<Session<PlainStream>>(*this, id, std::move(socket));
        Register(id, session);
        if (over_limit) {
          session->Reject(503, Error::Unavailable("too many connections"));
        } else {
          session->Start();
        }
      }
    }
    DoAccept();
  });
}

// TLS 1.2 and 1.3 only, ECDHE+AEAD suites, no compression, no renegotiation, no session tickets (their
// keys would live for the process's lifetime and undo forward secrecy between restarts).
Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty()) return Error::InvalidField("tls-cert", "is required with --tls-key");
  if (key_file.empty()) return Error::InvalidField("tls-key", "is required with --tls-cert");
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::no_compression | asio::ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // OpenSSL 3 refuses client-initiated renegotiation unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION; this also
  // turns off server-initiated renegotiation.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(native, kTls13Ciphers) != 1) {
    return Error::Internal("openssl rejected the cipher configuration");
  }
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return Error::InvalidField("tls-cert", "cannot load certificate chain " + cert_file + ": " + ec.message());
  ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) return Error::InvalidField("tls-key", "cannot load private key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return Error::InvalidField("tls-key", "does not match the certificate in " + cert_file);
  }
  return ctx;
}

}  // namespace

struct Server::Impl {
  std::unique_ptr<ServerCore> core;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, Router& router) {
  auto core = std::make_unique<ServerCore>(std::move(options), router);
  const ServerOptions& opts = core->options;
  if (!opts.static_dir.empty()) {
    ASSIGN_OR_RETURN(StaticFiles files, StaticFiles::Open(opts.static_dir));
    core->static_files.emplace(std::move(files));
  }

  if (!opts.tls_cert_file.empty() || !opts.tls_key_file.empty()) {
    ASSIGN_OR_RETURN(core->tls, MakeTlsContext(opts.tls_cert_file, opts.tls_key_file));
  }

  beast::error_code ec;
  auto address = asio::ip::make_address(opts.address, ec);
  if (ec) {
    return Error::InvalidField("address", "not an ip address: " + opts.address);
  }
  tcp::endpoint endpoint(address, opts.port);
  std::string where = opts.address + ":" + std::to_string(opts.port);
  core->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    core->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    core->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    core->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error::Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  core->port = core->acceptor.local_endpoint(ec).port();

  ServerCore* raw = core.get();
  asio::post(core->acceptor.get_executor(), [raw] { raw->DoAccept(); });
  for (int i = 0; i < std::max(1, opts.io_threads); ++i) {
    core->io_threads.emplace_back([raw] { raw->ioc.run(); });
  }
  auto impl = std::make_unique<Impl>();
  impl->core = std::move(core);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->core->port; }

size_t Server::ConnectionCountForTest() const { return impl_->core->SessionCount(); }

void Server::Stop() {
  ServerCore& core = *impl_->core;
  {
    std::unique_lock lock(core.stop_mutex);
    if (core.stop_started) {
      core.stop_cv.wait(lock, [&] { return core.stopped; });
      return;
    }
    core.stop_started = true;
  }

  core.stopping.store(true);
  asio::post(core.acceptor.get_executor(), [&core] {
    beast::error_code ignored;
    core.acceptor.close(ignored);
    core.accept_retry.cancel();
  });
  for (auto& session : core.LiveSessions()) {
    session->CloseIfIdle();
  }
  {
    std::unique_lock lock(core.sessions_mutex);
    core.sessions_cv.wait_for(lock, core.options.stop_timeout, [&] { return core.sessions.empty(); });
  }
  for (auto& session : core.LiveSessions()) {
    session->ForceClose();
  }
  // Handlers still running finish (their answers are dropped on closed connections); then the I/O
  // threads run out of work once every socket operation has completed.
  core.workers.join();
  core.work_guard.reset();
  for (std::thread& thread : core.io_threads) {
    thread.join();
  }
  core.io_threads.clear();

  std::lock_guard lock(core.stop_mutex);
  core.stopped = true;
  core.stop_cv.notify_all();
}

void Server::Wait() {
  ServerCore& core = *impl_->core;
  std::unique_lock lock(core.stop_mutex);
  core.stop_cv.wait(lock, [&] { return core.stopped; });
}

}  // namespace panorama::http
