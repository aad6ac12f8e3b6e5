// Orders, products and interactions under /api/v1.

#include <charconv>

#include "analytics/rfm_service.h"
#include "features/feature_store.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

std::optional<Timestamp> ReadTime(JsonBody& body, std::string_view key) {
  auto text = body.String(key, 64);
  if (!text) return std::nullopt;
  auto parsed = ParseIso8601(*text);
  if (!parsed) {
    body.Reject(std::string(key), "is not an ISO 8601 timestamp");
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::string> ReadCurrency(JsonBody& body, std::string_view key, bool required) {
  auto text = body.String(key, 8, required);
  if (!text) return std::nullopt;
  auto normalised = NormalizeCurrency(*text);
  if (!normalised) {
    body.Reject(std::string(key), "must be a three-letter ISO 4217 code");
    return std::nullopt;
  }
  return *normalised;
}

Result<std::optional<CustomerId>> QueryCustomerId(const Request& request) {
  auto text = request.Query("customer_id");
  if (!text) return std::optional<CustomerId>();
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
  if (ec != std::errc() || ptr != text->data() + text->size() || id <= 0) {
    return Error::InvalidField("customer_id", "must be a positive integer");
  }
  return std::optional<CustomerId>(CustomerId(id));
}

Response CreateOrder(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"customer_id", "order_id", "placed_at", "currency", "total_minor", "status", "items"});
  storage::OrderRecord order;
  auto customer = body->Int("customer_id", 1, INT64_MAX, true);
  auto external_id = body->String("order_id", 255, true);
  auto currency = ReadCurrency(*body, "currency", true);
  auto placed_at = ReadTime(*body, "placed_at");
  auto total = body->Int("total_minor", 0, int64_t{1} << 53);
  auto status = body->String("status", 32);
  std::vector<std::string> categories;
  int64_t items_sum = 0;
  body->Objects("items", 1000, false, [&](JsonBody& item, const std::string&) {
    item.AllowOnly({"sku", "name", "category", "quantity", "unit_price_minor"});
    storage::OrderItemRecord line;
    line.sku = item.String("sku", 255, true).value_or("");
    line.name = item.String("name", 200).value_or("");
    categories.push_back(item.String("category", 100).value_or(""));
    line.quantity = item.Int("quantity", -1'000'000, 1'000'000).value_or(1);
    if (line.quantity == 0) item.Reject("quantity", "must not be zero");
    line.unit_price_minor = item.Int("unit_price_minor", 0, int64_t{1} << 53, true).value_or(0);
    items_sum += line.quantity * line.unit_price_minor;
    order.items.push_back(std::move(line));
  });
  if (status && *status != "completed" && *status != "pending" && *status != "cancelled" && *status != "refunded") {
    body->Reject("status", "must be completed, pending, cancelled or refunded");
  }
  if (!body->ok()) return Response::Problem(body->TakeError());
  order.customer = CustomerId(*customer);
  order.external_id = *external_id;
  order.total = Money{total.value_or(items_sum), *currency};
  order.status = status.value_or("completed");
  order.placed_at = placed_at.value_or(s.clock.Now());
  auto base = s.rates.ToBase(order.total);
  if (!base) return Response::Problem(Error::InvalidField("currency", base.error().message()));
  order.total_base_minor = *base;
  // A customer outside the caller's records is "no such customer", as for an absent id.
  if (auto visible = GetCustomerFor(s, who, order.customer); !visible) {
    if (visible.error().code() == ErrorCode::kNotFound) {
      return Response::Problem(Error::InvalidField("customer_id", "no such customer"));
    }
    return Response::Problem(visible.error());
  }
  auto written = s.store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto owner, txn.GetCustomer(order.customer));
    if (owner.merged_into) order.customer = *owner.merged_into;
    for (size_t i = 0; i < order.items.size(); ++i) {
      auto& item = order.items[i];
      ASSIGN_OR_RETURN(auto product, txn.FindProductBySku(item.sku));
      if (!product) {
        ASSIGN_OR_RETURN(product, txn.UpsertProduct({ProductId(), item.sku, item.name, categories[i],
                                                     Money{item.unit_price_minor, order.total.currency}}));
      }
      item.product = product;
    }
    ASSIGN_OR_RETURN(order.id, txn.InsertOrder(order));
    return Ok();
  });
  if (!written) {
    if (written.error().code() == ErrorCode::kNotFound) {
      return Response::Problem(Error::InvalidField("customer_id", "no such customer"));
    }
    return Response::Problem(written.error());
  }
  if (order.status == "completed") {
    s.features.OnOrder(order.customer, order.placed_at, order.total_base_minor);
    if (s.rfm != nullptr) s.rfm->OnOrder(order.customer);  // rescored against the current cuts
  }
  JsonWriter w;
  WriteOrder(w, order);
  return Response::Json(201, w.TakeString());
}

Response ListOrders(ApiServices& s, Request& request, const security::Principal& who) {
  auto page = ReadPageParams(request);
  if (!page) return Response::Problem(page.error());
  auto customer = QueryCustomerId(request);
  if (!customer) return Response::Problem(customer.error());
  auto orders = s.store.ListOrders({.after_id = page->after_id, .limit = page->limit + 1, .customer = *customer,
                                     .scope = ScopeOf(who)});
  if (!orders) return Response::Problem(orders.error());
  bool more = orders->size() > static_cast<size_t>(page->limit);
  if (more) orders->resize(static_cast<size_t>(page->limit));
  std::string next = orders->empty() ? "" : orders->back().id.ToString();
  return Response::Json(200, PageJson(*orders, more, next, WriteOrder));
}

Response CreateProduct(ApiServices& s, Request& request) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"sku", "name", "category", "price_minor", "currency"});
  storage::ProductRecord product;
  product.sku = body->String("sku", 255, true).value_or("");
  product.name = body->String("name", 200, true).value_or("");
  product.category = body->String("category", 100).value_or("");
  product.price.minor = body->Int("price_minor", 0, int64_t{1} << 53, true).value_or(0);
  product.price.currency = ReadCurrency(*body, "currency", true).value_or("");
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto written = s.store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(product.id, txn.UpsertProduct(product));
    return Ok();
  });
  if (!written) return Response::Problem(written.error());
  JsonWriter w;
  WriteProduct(w, product);
  return Response::Json(201, w.TakeString());
}

Response ListProducts(ApiServices& s, Request& request) {
  auto page = ReadPageParams(request);
  if (!page) return Response::Problem(page.error());
  auto products = s.store.ListProducts({.after_id = page->after_id, .limit = page->limit + 1});
  if (!products) return Response::Problem(products.error());
  bool more = products->size() > static_cast<size_t>(page->limit);
  if (more) products->resize(static_cast<size_t>(page->limit));
  std::string next = products->empty() ? "" : products->back().id.ToString();
  return Response::Json(200, PageJson(*products, more, next, WriteProduct));
}

Response CreateInteraction(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"kind", "subject", "body", "direction", "occurred_at"});
  storage::InteractionRecord interaction;
  interaction.customer = *id;
  interaction.kind = body->String("kind", 16, true).value_or("");
  if (!interaction.kind.empty() && interaction.kind != "note" && interaction.kind != "call" &&
      interaction.kind != "email" && interaction.kind != "meeting") {
    body->Reject("kind", "must be note, call, email or meeting");
  }
  interaction.subject = body->String("subject", 500).value_or("");
  interaction.body = body->String("body", 64 * 1024).value_or("");
  interaction.direction = body->String("direction", 16).value_or("");
  if (!interaction.direction.empty() && interaction.direction != "inbound" && interaction.direction != "outbound") {
    body->Reject("direction", "must be inbound or outbound");
  }
  interaction.occurred_at = ReadTime(*body, "occurred_at").value_or(s.clock.Now());
  if (interaction.subject.empty() && interaction.body.empty()) body->Reject("subject", "subject or body is required");
  if (!body->ok()) return Response::Problem(body->TakeError());
  interaction.author = who.user;
  if (auto visible = GetCustomerFor(s, who, interaction.customer); !visible) return Response::Problem(visible.error());
  auto written = s.store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto owner, txn.GetCustomer(interaction.customer));
    if (owner.merged_into) interaction.customer = *owner.merged_into;
    ASSIGN_OR_RETURN(interaction.id, txn.InsertInteraction(interaction));
    return Ok();
  });
  if (!written) return Response::Problem(written.error());
  JsonWriter w;
  WriteInteraction(w, interaction, who.permissions);
  return Response::Json(201, w.TakeString());
}

Response ListInteractions(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  auto page = ReadPageParams(request);
  if (!page) return Response::Problem(page.error());
  if (auto customer = GetCustomerFor(s, who, *id); !customer) return Response::Problem(customer.error());
  auto list = s.store.ListInteractions(
      {.after_id = page->after_id, .limit = page->limit + 1, .customer = *id, .scope = ScopeOf(who)});
  if (!list) return Response::Problem(list.error());
  bool more = list->size() > static_cast<size_t>(page->limit);
  if (more) list->resize(static_cast<size_t>(page->limit));
  std::string next = list->empty() ? "" : list->back().id.ToString();
  return Response::Json(200, PageJson(*list, more, next, [&](JsonWriter& w, const storage::InteractionRecord& i) {
    WriteInteraction(w, i, who.permissions);
  }));
}

}  // namespace

void RegisterCommerceRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kPost, "/api/v1/orders", Write(s, Permission::kOrdersWrite, CreateOrder));
  router.Add(Method::kGet, "/api/v1/orders", Read(s, Permission::kOrdersRead, ListOrders));
  router.Add(Method::kPost, "/api/v1/products", Write(s, Permission::kProductsWrite, CreateProduct));
  router.Add(Method::kGet, "/api/v1/products", Read(s, Permission::kOrdersRead, ListProducts));
  router.Add(Method::kPost, "/api/v1/customers/{id}/interactions",
             Write(s, Permission::kCustomersWrite, CreateInteraction));
  router.Add(Method::kGet, "/api/v1/customers/{id}/interactions",
             Read(s, Permission::kCustomersRead, ListInteractions));
}

}  // namespace panorama::http
