#pragma once
// KServe v2 (Open Inference Protocol) JSON bodies: parsing an infer request
// into tensors, writing the response, the model metadata. Internal to
// src/serve (the server and the HTTP load client share it).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/tensor.h"

namespace inferlab {

/// A parsed infer request: one tensor per model input, in the model's order,
/// each with leading dimension `samples`.
struct InferRequestBody {
  std::string id;  ///< echoed in the response; empty when absent
  std::int64_t samples = 0;
  std::vector<Tensor> inputs;
};

/// Parses a POST /v2/models/{name}/infer body against the model's inputs
/// (`sample_inputs`: shapes with leading dimension 1). Throws Error
/// (kBadInput) with a one-line message for the client, e.g. "inputs[0]
/// 'input': shape [1, 3, 224] does not match [n, 3, 224, 224]".
InferRequestBody parse_infer_request(const std::string& body, const std::vector<TensorSpec>& sample_inputs,
                                     std::int64_t max_batch);

/// The request body for `inputs` (float32, leading dimension = samples).
std::string make_infer_request(const std::vector<TensorSpec>& specs, const std::vector<const Tensor*>& inputs,
                               const std::string& id);

/// The response body: every output as FP32 with its shape and flat data, and
/// the server's own timings under "parameters" (queue_ms, engine_ms, batch_size).
std::string make_infer_response(const std::string& model_name, const std::string& id,
                                const std::vector<TensorSpec>& output_specs, const std::vector<Tensor>& outputs,
                                double queue_ms, double engine_ms, std::int64_t batch_size);

/// {"error": message}, the body of every 4xx/5xx answer.
std::string error_body(const std::string& message);

/// KServe's datatype name for `dtype` ("FP32", "INT64", ...).
std::string kserve_datatype(DType dtype);

/// A tensor list as KServe metadata: [{name, datatype, shape}] with the batch dimension as -1.
nlohmann::json kserve_tensor_metadata(const std::vector<TensorSpec>& specs);

}  // namespace inferlab
