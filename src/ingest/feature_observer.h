#pragma once
// Keeps the feature store in step with committed ingestion and imports.

#include "features/feature_store.h"
#include "ingest/ingest_pipeline.h"

namespace panorama::ingest {

class FeatureObserver final : public IngestObserver {
 public:
  explicit FeatureObserver(features::FeatureStore& features) : features_(features) {}
  // IngestObserver
  void OnCustomerCreated(CustomerId customer) override { features_.OnCustomer(customer); }
  void OnMerged(CustomerId from, CustomerId into) override { features_.OnMerge(from, into); }
  void OnEvent(CustomerId customer, Timestamp at) override { features_.OnEvent(customer, at); }
  void OnOrder(CustomerId customer, Timestamp at, int64_t total) override { features_.OnOrder(customer, at, total); }

 private:
  features::FeatureStore& features_;
};

}  // namespace panorama::ingest
