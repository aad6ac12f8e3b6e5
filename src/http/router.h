#pragma once
// Router: maps (method, path pattern) to handlers. No Beast here; the server and unit tests share it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace panorama::http {

// One registered route, as Routes() reports it (the OpenAPI test compares these with the document).
struct RouteInfo {
  Method method = Method::kGet;
  std::string pattern;  // "/api/v1/customers/{id}/360", or for prefix routes the prefix plus "*"
  bool async = false;
  bool prefix = false;
  std::string rule;  // what the route requires: "public", "authenticated" or a permission name
};

// A handler with the rule it enforces. Routes are registered only in this form, so every route declares
// who may call it (the authorisation matrix test enumerates Routes() and checks each rule). The API's
// adapters (http/handlers/handler_util.h) build these from a permission and enforce it; Public() is for
// routes anyone may call.
inline constexpr std::string_view kPublicRule = "public";
inline constexpr std::string_view kAuthenticatedRule = "authenticated";
struct GuardedHandler {
  std::string rule;
  Handler handler;
};
struct GuardedAsyncHandler {
  std::string rule;
  AsyncHandler handler;
};
GuardedHandler Public(Handler handler);
GuardedAsyncHandler PublicAsync(AsyncHandler handler);

// The outcome of matching one request: a handler to run, or a ready error response.
struct RouteMatch {
  const Handler* handler = nullptr;             // set for a sync route
  const AsyncHandler* async_handler = nullptr;  // set for an async route
  std::optional<Response> error;                // 404, 405 (with Allow) or 400 when neither is set
  bool found() const { return handler != nullptr || async_handler != nullptr; }
};

// Patterns are absolute paths whose segments are literals or "{name}" parameters matching one whole
// non-empty segment. Matching is on the raw path of Request::target, each segment percent-decoded after
// splitting, so an encoded '/' stays inside a parameter. When several patterns match, the one whose
// first differing segment is a literal wins ("/customers/search" beats "/customers/{id}"). A path that
// some pattern matches with another method gets 405 with an Allow header; HEAD uses the GET route (the
// server then sends the headers without the body). Prefix routes are tried only when no pattern matches
// the path at all; the longest prefix wins.
//
// Register every route before the server starts; afterwards the router is read-only and Match/Dispatch
// are safe from any number of threads. Registering the same method and pattern twice is a programmer
// error (PANORAMA_CHECK), as is a pattern not starting with '/'.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // An empty rule is a programmer error (PANORAMA_CHECK).
  void Add(Method method, std::string_view pattern, GuardedHandler handler);
  void AddAsync(Method method, std::string_view pattern, GuardedAsyncHandler handler);
  // Serves every path starting with `prefix` (e.g. "/" for the console's static files).
  void AddPrefix(Method method, std::string_view prefix, GuardedHandler handler);

  // Finds the route for `request` and fills request.path_params.
  RouteMatch Match(Request& request) const;
  // Match, then run the handler on this thread; `respond` receives the handler's or the error response.
  // Exceptions from handlers propagate (the server owns the catch-all).
  void Dispatch(Request& request, const Responder& respond) const;

  // The registered routes in registration order.
  std::vector<RouteInfo> Routes() const;

 private:
  struct Route;
  std::vector<Route> routes_;
};

}  // namespace panorama::http
