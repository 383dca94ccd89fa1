#include "serve/kserve_json.h"

#include <cmath>
#include <cstdio>

#include "inferlab/error.h"

namespace inferlab {

namespace {

using nlohmann::json;

std::string dims_text(const Shape& shape, bool batch_as_n) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += (i == 0 && batch_as_n) ? std::string("n") : std::to_string(shape[i]);
  }
  return out + "]";
}

// Flattens `data` (flat or nested row-major, as KServe allows) into `out`;
// false on a non-number or when more than `capacity` values arrive.
bool flatten_numbers(const json& data, float* out, std::size_t capacity, std::size_t& count) {
  if (data.is_array()) {
    for (const json& item : data) {
      if (!flatten_numbers(item, out, capacity, count)) return false;
    }
    return true;
  }
  if (!data.is_number() || count >= capacity) return false;
  out[count++] = data.get<float>();
  return true;
}

}  // namespace

std::string kserve_datatype(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "FP32";
    case DType::kFloat16:
      return "FP16";
    case DType::kBFloat16:
      return "BF16";
    case DType::kInt8:
      return "INT8";
    case DType::kUInt8:
      return "UINT8";
    case DType::kInt32:
      return "INT32";
    case DType::kInt64:
      return "INT64";
    case DType::kBool:
      return "BOOL";
    case DType::kUnknown:
      break;
  }
  return "UNKNOWN";
}

json kserve_tensor_metadata(const std::vector<TensorSpec>& specs) {
  json out = json::array();
  for (const TensorSpec& s : specs) {
    Shape shape = s.shape;
    if (!shape.empty()) shape[0] = -1;
    out.push_back({{"name", s.name}, {"datatype", kserve_datatype(s.dtype)}, {"shape", shape}});
  }
  return out;
}

InferRequestBody parse_infer_request(const std::string& body, const std::vector<TensorSpec>& sample_inputs,
                                     std::int64_t max_batch) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) throw Error("the request body is not valid JSON");
  if (!doc.is_object()) throw Error("the request body must be a JSON object with \"inputs\"");
  InferRequestBody parsed;
  if (auto it = doc.find("id"); it != doc.end()) {
    if (!it->is_string()) throw Error("\"id\" must be a string");
    parsed.id = it->get<std::string>();
  }
  const auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array()) throw Error("\"inputs\" must be an array of tensors");
  if (inputs->size() != sample_inputs.size()) {
    throw Error("the model takes " + std::to_string(sample_inputs.size()) + " input(s), the request gave " +
                std::to_string(inputs->size()));
  }
  parsed.inputs.resize(sample_inputs.size());
  std::vector<bool> seen(sample_inputs.size(), false);
  for (std::size_t k = 0; k < inputs->size(); ++k) {
    const json& t = (*inputs)[k];
    const std::string where = "inputs[" + std::to_string(k) + "]";
    if (!t.is_object()) throw Error(where + " must be an object with name, shape, datatype and data");
    const auto name = t.find("name");
    if (name == t.end() || !name->is_string()) throw Error(where + ": \"name\" must be a string");
    std::size_t index = sample_inputs.size();
    for (std::size_t i = 0; i < sample_inputs.size(); ++i) {
      if (sample_inputs[i].name == name->get<std::string>()) index = i;
    }
    if (index == sample_inputs.size())
      throw Error(where + ": the model has no input '" + name->get<std::string>() + "'");
    if (seen[index]) throw Error(where + ": input '" + name->get<std::string>() + "' given twice");
    seen[index] = true;
    const std::string label = where + " '" + sample_inputs[index].name + "'";
    const auto datatype = t.find("datatype");
    if (datatype == t.end() || !datatype->is_string() || datatype->get<std::string>() != "FP32")
      throw Error(label + ": \"datatype\" must be \"FP32\"");
    const auto shape_it = t.find("shape");
    Shape shape;
    if (shape_it == t.end() || !shape_it->is_array()) throw Error(label + ": \"shape\" must be an array of integers");
    for (const json& d : *shape_it) {
      if (!d.is_number_integer()) throw Error(label + ": \"shape\" must be an array of integers");
      shape.push_back(d.get<std::int64_t>());
    }
    const Shape& expected = sample_inputs[index].shape;
    bool matches = shape.size() == expected.size() && !shape.empty();
    for (std::size_t i = 1; matches && i < shape.size(); ++i) matches = shape[i] == expected[i];
    if (!matches)
      throw Error(label + ": shape " + dims_text(shape, false) + " does not match " + dims_text(expected, true));
    const std::int64_t n = shape[0];
    if (n < 1 || n > max_batch) {
      throw Error(label + ": batch " + std::to_string(n) + " is outside 1.." + std::to_string(max_batch) +
                  " (the server's --max-batch)");
    }
    if (parsed.samples != 0 && parsed.samples != n) throw Error(label + ": every input must have the same batch");
    parsed.samples = n;
    Tensor tensor(DType::kFloat32, shape);
    const auto data = t.find("data");
    if (data == t.end() || !data->is_array()) throw Error(label + ": \"data\" must be an array of numbers");
    std::size_t count = 0;
    const auto capacity = static_cast<std::size_t>(tensor.element_count());
    if (!flatten_numbers(*data, tensor.data_as<float>(), capacity, count) || count != capacity) {
      throw Error(label + ": \"data\" must hold exactly " + std::to_string(capacity) + " numbers for shape " +
                  dims_text(shape, false));
    }
    parsed.inputs[index] = std::move(tensor);
  }
  return parsed;
}

std::string make_infer_request(const std::vector<TensorSpec>& specs, const std::vector<const Tensor*>& inputs,
                               const std::string& id) {
  json doc{{"id", id}, {"inputs", json::array()}};
  for (std::size_t i = 0; i < specs.size() && i < inputs.size(); ++i) {
    const Tensor& t = *inputs[i];
    const float* values = t.data_as<float>();
    doc["inputs"].push_back({{"name", specs[i].name},
                             {"shape", t.shape()},
                             {"datatype", "FP32"},
                             {"data", std::vector<float>(values, values + t.element_count())}});
  }
  return doc.dump();
}

std::string make_infer_response(const std::string& model_name, const std::string& id,
                                const std::vector<TensorSpec>& output_specs, const std::vector<Tensor>& outputs,
                                double queue_ms, double engine_ms, std::int64_t batch_size) {
  json doc{{"model_name", model_name}, {"outputs", json::array()}};
  if (!id.empty()) doc["id"] = id;
  for (std::size_t i = 0; i < outputs.size() && i < output_specs.size(); ++i) {
    const Tensor& t = outputs[i];
    json data = json::array();
    if (t.dtype() == DType::kFloat32) {
      const float* values = t.data_as<float>();
      for (std::int64_t k = 0; k < t.element_count(); ++k) {
        // JSON has no NaN/Inf: such values go as null rather than break the document.
        data.push_back(std::isfinite(values[k]) ? json(values[k]) : json(nullptr));
      }
    }
    doc["outputs"].push_back({{"name", output_specs[i].name},
                              {"datatype", kserve_datatype(t.dtype())},
                              {"shape", t.shape()},
                              {"data", data}});
  }
  doc["parameters"] = {{"queue_ms", queue_ms}, {"engine_ms", engine_ms}, {"batch_size", batch_size}};
  return doc.dump();
}

std::string error_body(const std::string& message) { return json{{"error", message}}.dump(); }

}  // namespace inferlab
