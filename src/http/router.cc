#include "http/router.h"

#include <algorithm>
#include <memory>

#include "http/internal/url.h"

namespace panorama::http {
namespace {

struct Segment {
  std::string text;  // the literal, or the parameter name
  bool param = false;
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') {
    return segments;
  }
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return segments;
}

std::vector<Segment> ParsePattern(std::string_view pattern) {
  PANORAMA_CHECK(!pattern.empty() && pattern.front() == '/');
  std::vector<Segment> segments;
  for (std::string_view part : SplitPath(pattern)) {
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      segments.push_back({std::string(part.substr(1, part.size() - 2)), true});
    } else {
      segments.push_back({std::string(part), false});
    }
  }
  return segments;
}

std::string AllowHeader(std::vector<Method> methods) {
  if (std::find(methods.begin(), methods.end(), Method::kGet) != methods.end()) {
    methods.push_back(Method::kHead);
  }
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string allow;
  for (Method method : methods) {
    if (!allow.empty()) {
      allow += ", ";
    }
    allow += MethodName(method);
  }
  return allow;
}

}  // namespace

GuardedHandler Public(Handler handler) { return {std::string(kPublicRule), std::move(handler)}; }
GuardedAsyncHandler PublicAsync(AsyncHandler handler) { return {std::string(kPublicRule), std::move(handler)}; }

struct Router::Route {
  Method method;
  std::string pattern;
  std::vector<Segment> segments;
  bool prefix = false;
  std::unique_ptr<Handler> handler;
  std::unique_ptr<AsyncHandler> async_handler;
  std::string rule;
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(Method method, std::string_view pattern, GuardedHandler handler) {
  PANORAMA_CHECK(!handler.rule.empty() && handler.handler);
  for (const Route& route : routes_) {
    PANORAMA_CHECK(route.prefix || route.method != method || route.pattern != pattern);
  }
  routes_.push_back({method, std::string(pattern), ParsePattern(pattern), false,
                     std::make_unique<Handler>(std::move(handler.handler)), nullptr, std::move(handler.rule)});
}

void Router::AddAsync(Method method, std::string_view pattern, GuardedAsyncHandler handler) {
  PANORAMA_CHECK(!handler.rule.empty() && handler.handler);
  for (const Route& route : routes_) {
    PANORAMA_CHECK(route.prefix || route.method != method || route.pattern != pattern);
  }
  routes_.push_back({method, std::string(pattern), ParsePattern(pattern), false, nullptr,
                     std::make_unique<AsyncHandler>(std::move(handler.handler)), std::move(handler.rule)});
}

void Router::AddPrefix(Method method, std::string_view prefix, GuardedHandler handler) {
  PANORAMA_CHECK(!prefix.empty() && prefix.front() == '/');
  PANORAMA_CHECK(!handler.rule.empty() && handler.handler);
  routes_.push_back({method, std::string(prefix), {}, true, std::make_unique<Handler>(std::move(handler.handler)),
                     nullptr, std::move(handler.rule)});
}

RouteMatch Router::Match(Request& request) const {
  std::string_view raw_path =
      request.target.empty() ? std::string_view(request.path) : internal::TargetPath(request.target);
  std::vector<std::string_view> raw_segments = SplitPath(raw_path);
  std::vector<std::string> segments;
  segments.reserve(raw_segments.size());
  for (std::string_view raw : raw_segments) {
    auto decoded = internal::PercentDecode(raw, false);
    if (!decoded) {
      return {nullptr, nullptr, Response::Problem(Error::InvalidField("path", decoded.error().message()))};
    }
    segments.push_back(std::move(decoded).value());
  }

  // Among the patterns matching the path, keep the most specific per method; `better` compares two
  // routes at their first differing segment kind.
  auto matches = [&](const Route& route) {
    if (route.prefix || route.segments.size() != segments.size()) {
      return false;
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& segment = route.segments[i];
      if (segment.param ? segments[i].empty() : segment.text != segments[i]) {
        return false;
      }
    }
    return true;
  };
  auto better = [](const Route& a, const Route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].param != b.segments[i].param) {
        return !a.segments[i].param;
      }
    }
    return false;
  };

  Method wanted = request.method;
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // for HEAD
  std::vector<Method> allowed;
  for (const Route& route : routes_) {
    if (!matches(route)) {
      continue;
    }
    allowed.push_back(route.method);
    if (route.method == wanted && (best == nullptr || better(route, *best))) {
      best = &route;
    }
    if (route.method == Method::kGet && (best_get == nullptr || better(route, *best_get))) {
      best_get = &route;
    }
  }
  if (best == nullptr && wanted == Method::kHead) {
    best = best_get;
  }
  if (best != nullptr) {
    request.path_params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      if (best->segments[i].param) {
        request.path_params.emplace_back(best->segments[i].text, std::move(segments[i]));
      }
    }
    return {best->handler.get(), best->async_handler.get(), std::nullopt};
  }
  if (!allowed.empty()) {
    Response response = Response::Problem(
        405, Error(ErrorCode::kInvalidArgument,
                   std::string("method ") + MethodName(wanted) + " is not allowed on this path"));
    response.headers.emplace_back("Allow", AllowHeader(std::move(allowed)));
    return {nullptr, nullptr, std::move(response)};
  }

  // Prefix routes compare the decoded path; every segment decoded above, so the whole path decodes.
  std::string match_path = request.path;
  if (match_path.empty()) {
    auto decoded = internal::PercentDecode(raw_path, false);
    if (decoded) {
      match_path = std::move(decoded).value();
    }
  }
  const Route* best_prefix = nullptr;
  for (const Route& route : routes_) {
    bool method_ok = route.method == wanted || (wanted == Method::kHead && route.method == Method::kGet);
    if (route.prefix && method_ok && match_path.starts_with(route.pattern) &&
        (best_prefix == nullptr || route.pattern.size() > best_prefix->pattern.size())) {
      best_prefix = &route;
    }
  }
  if (best_prefix != nullptr) {
    request.path_params.clear();
    return {best_prefix->handler.get(), nullptr, std::nullopt};
  }
  return {nullptr, nullptr, Response::Problem(Error::NotFound("no route for this path"))};
}

void Router::Dispatch(Request& request, const Responder& respond) const {
  RouteMatch match = Match(request);
  if (match.handler != nullptr) {
    respond((*match.handler)(request));
  } else if (match.async_handler != nullptr) {
    (*match.async_handler)(request, respond);
  } else {
    respond(std::move(*match.error));
  }
}

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const Route& route : routes_) {
    out.push_back({route.method, route.prefix ? route.pattern + "*" : route.pattern,
                   route.async_handler != nullptr, route.prefix, route.rule});
  }
  return out;
}

}  // namespace panorama::http
