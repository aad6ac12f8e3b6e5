#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

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

class Session;

// Everything the sessions share. Declaration order matters: sessions unregister themselves from their
// destructors, which run while io_context and the worker pool are destroyed, so the registry comes first.
struct ServerCore {
  ServerCore(ServerOptions opts, Router& r)
      : options(std::move(opts)),
        router(r),
        logger(spdlog::default_logger()),
        workers(static_cast<size_t>(std::max(1, options.worker_threads))),
        acceptor(asio::make_strand(ioc)),
        work_guard(asio::make_work_guard(ioc)) {}

  void Register(uint64_t id, const std::shared_ptr<Session>& session) {
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
  std::vector<std::shared_ptr<Session>> LiveSessions() {
    std::lock_guard lock(sessions_mutex);
    std::vector<std::shared_ptr<Session>> out;
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
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<bool> stopping{false};
  uint16_t port = 0;

  // Guarded by sessions_mutex.
  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;

  std::atomic<uint64_t> next_session_id{0};
  asio::io_context ioc;
  asio::thread_pool workers;
  tcp::acceptor acceptor;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard;
  std::vector<std::thread> io_threads;

  // Guarded by stop_mutex.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stop_started = false;
  bool stopped = false;
};

// One client connection. All members are touched only on the connection's strand (the stream's
// executor); handlers running elsewhere come back through asio::post.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore& core, tcp::socket socket, uint64_t id)
      : core_(core), stream_(std::move(socket)), id_(id) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_address_ = endpoint.address().to_string();
    }
  }
  ~Session() { core_.Unregister(id_); }

  void Start() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->DoReadHeader(); });
  }

  void Reject(int status, Error error) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), status, error = std::move(error)] {
      self->start_ = Clock::now();
      self->SendErrorAndClose(status, error);
    });
  }

  // Stop(): a connection waiting for its next request is closed now; one with a request in flight
  // closes after answering (DoReadHeader and SendResponse check `stopping`).
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        self->Close();
      }
    });
  }

  void ForceClose() {
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
    bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    if (!response.content_type.empty() && !no_body) {
      res->set(bhttp::field::content_type, ToBeast(response.content_type));
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
    stream_.expires_after(core_.options.read_timeout);
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
    stream_.expires_after(first_request_ ? core_.options.read_timeout : core_.options.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->OnHeader(ec);
                             });
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
    stream_.expires_after(core_.options.read_timeout);
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
    stream_.expires_never();  // handlers may take long; the write sets its own deadline
    auto message = parser_->release();
    keep_alive_ = message.keep_alive();

    Request request;
    request.method = method_;
    request.target = std::string(ToStd(message.target()));
    request.remote_address = remote_address_;
    std::string_view raw_path = internal::TargetPath(request.target);
    if (raw_path.empty() || raw_path.front() != '/') {
      SendResponse(Response::Problem(Error::InvalidField("target", "must be an absolute path")));
      return;
    }
    auto path = internal::PercentDecode(raw_path, false);
    if (!path) {
      SendResponse(Response::Problem(Error::InvalidField("path", path.error().message())));
      return;
    }
    request.path = std::move(path).value();
    if (raw_path.size() < request.target.size()) {
      auto query = internal::ParseQuery(std::string_view(request.target).substr(raw_path.size() + 1));
      if (!query) {
        SendResponse(Response::Problem(Error::InvalidField("query", query.error().message())));
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
    std::shared_ptr<Session> session;
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
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      Close();
      return;
    }
    first_request_ = false;
    DoReadHeader();
  }

  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
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
    stream_.close();
  }

  ServerCore& core_;
  beast::tcp_stream stream_;
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
      logger->warn("accept failed: {}", ec.message());
    } else {
      bool over_limit = SessionCount() >= options.max_connections;
      uint64_t id = next_session_id.fetch_add(1);
      auto session = std::make_shared<Session>(*this, std::move(socket), id);
      Register(id, session);
      if (over_limit) {
        session->Reject(503, Error::Unavailable("too many connections"));
      } else {
        session->Start();
      }
    }
    DoAccept();
  });
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
