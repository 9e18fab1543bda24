/*
 * cpp-example: a radixgate plugin written in C++ against
 * include/radixgate_plugin.h alone.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Config: {} or {"trailer": "<text>"}.
 * - rewrite: sends X-Cpp-Example: <method> <path> to the node;
 * - header_filter: sets X-Cpp-Example: yes on the response;
 * - body_filter: appends the trailer (default "served through
 *   cpp-example") and a newline to the last chunk of the body.
 *
 * Every entry point is noexcept and catches what it throws: no exception
 * may unwind into the gateway.
 *
 * Build (from the repository's root; `make run` and `make test` do):
 *   c++ -std=c++20 -shared -fPIC -I include -o libradixgate_plugin_cpp_example.so
 *       plugins/cpp-example/cpp_example.cc
 */

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "radixgate_plugin.h"

namespace {

std::string_view view(rg_bytes b) {
  return b.len == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char *>(b.ptr), b.len);
}

const uint8_t *bytes(std::string_view s) { return reinterpret_cast<const uint8_t *>(s.data()); }

/// One config's instance: read-only once built.
class Instance {
 public:
  explicit Instance(std::string trailer) : trailer_(std::move(trailer) + "\n") {}

  rg_decision rewrite(const rg_host *host, rg_request *req) const {
    rg_bytes method, path;
    if (host->request_method(req, &method) != RG_OK || host->request_path(req, &path) != RG_OK) {
      return fail(host, req, "cannot read the request");
    }
    std::string value = std::string(view(method)) + " " + std::string(view(path));
    constexpr std::string_view name = "X-Cpp-Example";
    host->request_header_set(req, bytes(name), name.size(), bytes(value), value.size());
    return RG_CONTINUE;
  }

  rg_decision header_filter(const rg_host *host, rg_request *req) const {
    constexpr std::string_view name = "X-Cpp-Example", yes = "yes";
    host->response_header_set(req, bytes(name), name.size(), bytes(yes), yes.size());
    return RG_CONTINUE;
  }

  rg_decision body_filter(const rg_host *host, rg_request *req) const {
    rg_bytes chunk;
    bool last = false;
    if (host->body_chunk(req, &chunk, &last) != RG_OK) {
      return fail(host, req, "cannot read the body chunk");
    }
    if (last) {
      std::string with = std::string(view(chunk)) + trailer_;
      host->body_replace(req, bytes(with), with.size());
    }
    return RG_CONTINUE;
  }

  static rg_decision fail(const rg_host *host, rg_request *req, std::string_view why) {
    host->fail(req, bytes(why), why.size());
    return RG_FAIL;
  }

 private:
  std::string trailer_;
};

/// The value of "trailer" in a compact JSON object of at most that
/// member (the gateway checked the config against the schema below, which
/// allows no other member and no escapes in the trailer).
std::string trailer_of(std::string_view config) {
  constexpr std::string_view key = "\"trailer\":\"";
  auto at = config.find(key);
  if (at == std::string_view::npos) return "served through cpp-example";
  auto start = at + key.size();
  return std::string(config.substr(start, config.find('"', start) - start));
}

constexpr std::string_view SCHEMA =
    R"({"type":"object","properties":{"trailer":{"type":"string","pattern":"^[^\"\\\\]*$"}},)"
    R"("additionalProperties":false})";

rg_result instance_new(const rg_host *, const rg_services *, const uint8_t *config,
                       size_t config_len, void **out, uint8_t *error, size_t error_cap,
                       size_t *error_len) noexcept {
  try {
    std::string_view text(reinterpret_cast<const char *>(config), config_len);
    *out = new Instance(trailer_of(text));
    return RG_OK;
  } catch (const std::exception &e) {
    size_t n = std::min(std::strlen(e.what()), error_cap);
    std::memcpy(error, e.what(), n);
    *error_len = n;
    return RG_INVALID_CONFIG;
  }
}

void instance_drop(void *instance) noexcept { delete static_cast<Instance *>(instance); }

/// Runs one phase of the instance, turning an exception into a failure.
template <rg_decision (Instance::*Phase)(const rg_host *, rg_request *) const>
rg_decision phase(void *instance, const rg_host *host, rg_request *req) noexcept {
  try {
    return (static_cast<const Instance *>(instance)->*Phase)(host, req);
  } catch (const std::exception &e) {
    return Instance::fail(host, req, e.what());
  } catch (...) {
    return Instance::fail(host, req, "an exception that is not a std::exception");
  }
}

const rg_plugin declaration = {
    .abi_version = RG_PLUGIN_ABI_VERSION,
    .size = sizeof(rg_plugin),
    .name = RG_LIT("cpp-example"),
    .version = RG_LIT("0.1.0"),
    .priority = 1009,
    .phases = RG_PHASE_REWRITE | RG_PHASE_HEADER_FILTER | RG_PHASE_BODY_FILTER,
    .flags = 0,
    .route_schema = {bytes(SCHEMA), SCHEMA.size()},
    .consumer_schema = {nullptr, 0},
    .metadata_schema = {nullptr, 0},
    .instance_new = instance_new,
    .instance_drop = instance_drop,
    .rewrite = phase<&Instance::rewrite>,
    .access = nullptr,
    .before_proxy = nullptr,
    .header_filter = phase<&Instance::header_filter>,
    .body_filter = phase<&Instance::body_filter>,
    .log = nullptr,
};

}  // namespace

RG_DECLARE_PLUGIN(declaration)
