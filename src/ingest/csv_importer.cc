#include "ingest/csv_importer.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "ingest/csv.h"
#include "ingest/identity/identity_resolver.h"
#include "ingest/ingest_pipeline.h"
#include "privacy/suppression.h"
#include "storage/store.h"

namespace panorama::ingest {
namespace {

std::vector<IdentityKey> KeysOf(const std::string& external_id, const std::string& email, const std::string& phone) {
  std::vector<IdentityKey> keys;
  if (!external_id.empty()) keys.push_back({"external_id", external_id});
  if (!email.empty()) keys.push_back({"email", email});
  if (!phone.empty()) keys.push_back({"phone", phone});
  return keys;
}

ProfilePatch PatchFrom(const storage::CustomerRecord& c) {
  ProfilePatch patch;
  auto set = [](std::optional<std::string>& to, const std::string& from) {
    if (!from.empty()) to = from;
  };
  set(patch.name, c.name);
  set(patch.email, c.email);
  set(patch.phone, c.phone);
  set(patch.gender, c.gender);
  set(patch.birthday, c.birthday);
  set(patch.city, c.city);
  set(patch.country, c.country);
  patch.custom_traits_json = c.traits_json.empty() ? "{}" : c.traits_json;
  return patch;
}

// The first identifier of the row that belongs to an erased subject, as the column it came from; "" for none.
Result<std::string> SuppressedField(privacy::SuppressionCheck& check, const std::vector<IdentityKey>& keys,
                                    std::string_view prefix) {
  for (const auto& key : keys) {
    ASSIGN_OR_RETURN(bool hit, check.IsSuppressed(key.type, key.value));
    if (hit) return std::string(prefix) + key.type;
  }
  return std::string();
}

// Moves the drafts naming erased subjects into `errors` (line, column, no value, reason "erased_subject").
template <typename Draft, typename KeysFn>
Result<void> RejectErasedSubjects(privacy::SuppressionCheck& check, std::vector<Draft>& drafts,
                                  std::vector<RowError>& errors, std::string_view prefix, KeysFn keys_of,
                                  int (*line_of)(const Draft&)) {
  std::vector<Draft> kept;
  kept.reserve(drafts.size());
  for (auto& draft : drafts) {
    ASSIGN_OR_RETURN(std::string field, SuppressedField(check, keys_of(draft), prefix));
    if (field.empty()) {
      kept.push_back(std::move(draft));
    } else {
      errors.push_back({line_of(draft), field, "", "erased_subject"});
    }
  }
  drafts = std::move(kept);
  return Ok();
}

// Returned from the transaction to roll a dry run back after it has done all of its work.
Error DryRunRollback() { return Error::Aborted("dry run"); }

}  // namespace

Result<ImportReport> ImportCsv(storage::Store& store, std::string_view file_bytes, const ImportOptions& options,
                               const ExchangeRates& rates, Timestamp now, IngestObserver* observer) {
  ASSIGN_OR_RETURN(CsvTable table, ReadCsv(file_bytes));
  auto mapping = options.mapping.empty() ? IdentityColumnMapping(options.kind, table.header)
                                         : ParseColumnMapping(options.mapping, options.kind, table.header);
  if (!mapping) return std::move(mapping.error());

  ImportReport report;
  report.detected_encoding = table.detected_encoding;
  IdentityResolver resolver;
  IngestEffects effects;

  std::vector<CustomerDraft> customers;
  std::vector<OrderDraft> orders;
  if (options.kind == ImportKind::kCustomers) {
    auto parsed = ParseCustomerRows(table, *mapping, options.rows);
    report.rows_total = parsed.rows_total;
    report.errors = std::move(parsed.errors);
    customers = std::move(parsed.drafts);
  } else {
    auto parsed = ParseOrderRows(table, *mapping, options.rows);
    report.rows_total = parsed.rows_total;
    report.errors = std::move(parsed.errors);
    orders = std::move(parsed.drafts);
  }
  if (options.suppression) {
    RETURN_IF_ERROR(RejectErasedSubjects(
        *options.suppression, customers, report.errors, "",
        [](const CustomerDraft& d) { return KeysOf(d.customer.external_id, d.customer.email, d.customer.phone); },
        +[](const CustomerDraft& d) { return d.line; }));
    RETURN_IF_ERROR(RejectErasedSubjects(
        *options.suppression, orders, report.errors, "customer_",
        [](const OrderDraft& d) { return KeysOf(d.customer_ref.external_id, d.customer_ref.email, d.customer_ref.phone); },
        +[](const OrderDraft& d) { return d.first_line; }));
    std::stable_sort(report.errors.begin(), report.errors.end(),
                     [](const RowError& a, const RowError& b) { return a.line < b.line; });
  }
  if (!report.errors.empty() && !options.skip_invalid) return report;

  ImportReport counts;
  auto written = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (const auto& draft : customers) {
      const auto& c = draft.customer;
      ProfilePatch patch = PatchFrom(c);
      ASSIGN_OR_RETURN(Resolution r, resolver.Resolve(txn, KeysOf(c.external_id, c.email, c.phone), patch, now,
                                                      "import linked identifiers"));
      if (r.created) {
        ++counts.created;
        effects.created.push_back(r.customer);
      } else {
        ++counts.updated;
        effects.updated.push_back(r.customer);
      }
      counts.merged += static_cast<int64_t>(r.merges.size());
      for (const auto& m : r.merges) effects.merges.emplace_back(m.from, m.into);
      if (!c.tags.empty() || !c.external_id.empty()) {
        ASSIGN_OR_RETURN(storage::CustomerRecord stored, txn.GetCustomer(r.customer));
        for (const auto& tag : c.tags) {
          if (std::find(stored.tags.begin(), stored.tags.end(), tag) == stored.tags.end()) stored.tags.push_back(tag);
        }
        if (stored.external_id.empty()) stored.external_id = c.external_id;
        RETURN_IF_ERROR(txn.UpdateCustomer(stored));
      }
    }
    for (const auto& draft : orders) {
      ASSIGN_OR_RETURN(auto existing, txn.FindOrderByExternalId(draft.order.external_id));
      if (existing) {
        ++counts.unchanged;
        continue;
      }
      const auto& ref = draft.customer_ref;
      ProfilePatch patch;
      if (!ref.email.empty()) patch.email = ref.email;
      if (!ref.phone.empty()) patch.phone = ref.phone;
      ASSIGN_OR_RETURN(Resolution r, resolver.Resolve(txn, KeysOf(ref.external_id, ref.email, ref.phone), patch,
                                                      draft.order.placed_at, "import linked identifiers"));
      if (r.created) {
        effects.created.push_back(r.customer);
        ASSIGN_OR_RETURN(storage::CustomerRecord stored, txn.GetCustomer(r.customer));
        stored.external_id = ref.external_id;
        RETURN_IF_ERROR(txn.UpdateCustomer(stored));
      }
      storage::OrderRecord order = draft.order;
      order.customer = r.customer;
      auto base = rates.ToBase(order.total);
      if (!base) {
        report.errors.push_back({draft.first_line, "currency", order.total.currency, base.error().message()});
        if (!options.skip_invalid) return Error::InvalidArgument("currency");
        continue;
      }
      order.total_base_minor = *base;
      for (size_t i = 0; i < order.items.size(); ++i) {
        auto& item = order.items[i];
        if (item.sku.empty()) continue;
        storage::ProductRecord product{ProductId(), item.sku, item.name,
                                       i < draft.item_categories.size() ? draft.item_categories[i] : "",
                                       Money{item.unit_price_minor, order.total.currency}};
        ASSIGN_OR_RETURN(auto found, txn.FindProductBySku(item.sku));
        if (found) {
          item.product = found;
        } else {
          ASSIGN_OR_RETURN(item.product, txn.UpsertProduct(product));
        }
      }
      RETURN_IF_ERROR(txn.InsertOrder(order));
      ++counts.created;
      if (order.status == "completed") effects.orders.push_back({r.customer, order.placed_at, order.total_base_minor});
    }
    if (options.dry_run) return DryRunRollback();
    return Ok();
  });
  report.created = counts.created;
  report.updated = counts.updated;
  report.unchanged = counts.unchanged;
  report.merged = counts.merged;
  if (!written) {
    if (options.dry_run && written.error().code() == ErrorCode::kAborted) return report;
    if (written.error().code() == ErrorCode::kInvalidArgument && !report.errors.empty()) {
      report.created = report.updated = report.unchanged = report.merged = 0;
      return report;
    }
    return std::move(written.error());
  }
  report.applied = true;
  PublishEffects(observer, effects);
  return report;
}

Result<std::string> ExportCustomersCsv(storage::Store& store, const ExportOptions& options) {
  CsvWriter writer({.utf8_bom = true});
  writer.WriteRow({"external_id", "name", "email", "phone", "gender", "birthday", "city", "country", "tags",
                   "customer_id", "created_at"});
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListCustomers({.after_id = after, .limit = 1000, .scope = options.scope}));
    if (page.empty()) break;
    for (auto& c : page) {
      if (options.mask) options.mask(c);
      std::string tags;
      for (const auto& t : c.tags) tags += (tags.empty() ? "" : ";") + t;
      writer.WriteRow({c.external_id, c.name, c.email, c.phone, c.gender, c.birthday, c.city, c.country, tags,
                       c.id.ToString(), FormatIso8601(c.created_at)});
    }
    after = page.back().id.value();
  }
  return writer.Take();
}

Result<std::string> ExportOrdersCsv(storage::Store& store, const ExportOptions& options) {
  CsvWriter writer({.utf8_bom = true});
  // The customer is written with the references the importer reads, so an export re-imports cleanly.
  writer.WriteRow({"order_id", "customer_external_id", "customer_email", "customer_phone", "placed_at", "currency",
                   "total", "status", "sku", "product_name", "quantity", "unit_price"});
  std::unordered_map<int64_t, std::array<std::string, 3>> refs;  // customer id → external id, email, phone
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListOrders({.after_id = after, .limit = 1000, .scope = options.scope}));
    if (page.empty()) break;
    for (const auto& o : page) {
      auto ref = refs.find(o.customer.value());
      if (ref == refs.end()) {
        ASSIGN_OR_RETURN(storage::CustomerRecord c, store.GetCustomer(o.customer));
        if (options.mask) options.mask(c);
        // A customer without any importable reference is exported under its Panorama id as external id.
        std::string external = c.external_id.empty() && c.email.empty() && c.phone.empty() ? "panorama:" + c.id.ToString()
                                                                                            : c.external_id;
        ref = refs.emplace(o.customer.value(), std::array<std::string, 3>{external, c.email, c.phone}).first;
      }
      const auto& [external, email, phone] = ref->second;
      std::string total = FormatMinor(o.total.minor, o.total.currency);
      std::string placed = FormatIso8601(o.placed_at);
      if (o.items.empty()) {
        writer.WriteRow({o.external_id, external, email, phone, placed, o.total.currency, total, o.status, "", "", "", ""});
      }
      for (const auto& item : o.items) {
        writer.WriteRow({o.external_id, external, email, phone, placed, o.total.currency, total, o.status, item.sku,
                         item.name, std::to_string(item.quantity), FormatMinor(item.unit_price_minor, o.total.currency)});
      }
    }
    after = page.back().id.value();
  }
  return writer.Take();
}

}  // namespace panorama::ingest
