# radixgate: `make run` serves the demo from conf/, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

# Debian packages the tests need: protoc (etcd-client), LuaJIT (OpenResty's
# luajit2), nginx with its lua module, etcd, wrk, C and C++ compilers (the
# C plugins, the headers' checks), python3 (the demo upstream, for
# `make run` and the demo test), and Redis (the plugins' Redis operations:
# redis-server, and redis-cli to join a cluster), and nghttp2-client
# (nghttp and h2load: HTTP/2 clients for the tests and benches), and
# openssl (s_client in the TLS tests, the demo's self-signed certificate).
APT_PACKAGES := protobuf-compiler luajit2 nginx libnginx-mod-http-lua etcd-server wrk gcc g++ curl python3 \
	redis-server redis-tools nghttp2-client openssl
HAVE_DEPS := command -v protoc && command -v luajit && command -v nginx && \
	test -e /usr/lib/nginx/modules/ngx_http_lua_module.so && command -v etcd && \
	command -v wrk && command -v cc && command -v g++ && command -v curl && command -v python3 && \
	command -v redis-server && command -v redis-cli && command -v nghttp && command -v h2load && command -v openssl

.PHONY: deps build c-plugins test run bench fmt lint new-plugin

deps:
	@if ! ( $(HAVE_DEPS) ) >/dev/null 2>&1; then \
		echo "installing test dependencies: $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build:
	$(CARGO) build --workspace

# C plugins, built from their sources and include/ alone (no cargo), into
# the target dir beside the Rust plugins: each plugins/<name> holding .c
# files (cc, C11) or .cc files (c++, C++20) becomes
# libradixgate_plugin_<name>.so (with `-` as `_`); the test plugin
# tests/plugins/test-c-faults/faults.c is built once per fault it shows
# (-DFAULT_<NAME>), as libradixgate_plugin_test_c_<name>.so.
C_PLUGIN_FLAGS := -shared -fPIC -fvisibility=hidden -O2 -Wall -Wextra -Werror -I include
C_FAULTS := version size null-phase schema dup-name

c-plugins: deps
	@out=$${CARGO_TARGET_DIR:-target}/debug; mkdir -p $$out; \
	for d in plugins/*/; do \
		lib=$$out/libradixgate_plugin_$$(basename $$d | tr - _).so; \
		if ls $$d*.c >/dev/null 2>&1; then \
			$(CC) -std=c11 $(C_PLUGIN_FLAGS) -o $$lib $$d*.c || exit 1; \
		elif ls $$d*.cc >/dev/null 2>&1; then \
			$(CXX) -std=c++20 $(C_PLUGIN_FLAGS) -o $$lib $$d*.cc || exit 1; \
		fi; \
	done; \
	for f in $(C_FAULTS); do \
		$(CC) -std=c11 $(C_PLUGIN_FLAGS) -DFAULT_$$(echo $$f | tr a-z- A-Z_) \
			-o $$out/libradixgate_plugin_test_c_$$(echo $$f | tr - _).so \
			tests/plugins/test-c-faults/faults.c || exit 1; \
	done

# The build step builds everything the tests use, the plugin .so files and
# the gateway binary included (the tests do not build them); the test
# step must then compile nothing, and fails when it did.
# The last line sums every test binary's result: "tests: N passed, N failed".
# The test binaries run side by side under cargo-nextest when it is
# installed (most tests wait on sockets and processes, not on the CPU),
# one test a process, as .config/nextest.toml says (each retried once, a
# retried pass reported as FLAKY in target/test.log); without it, under
# cargo test, one binary after another. Doctests run under cargo test
# either way.
TEST_THREADS ?= 8
test: deps c-plugins
	$(CARGO) build --workspace --all-targets
	@mkdir -p target; set -o pipefail; \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast --test-threads $(TEST_THREADS) \
			--hide-progress-bar 2>&1 | tee target/test.log; rc=$$?; \
		$(CARGO) test --workspace --doc --no-fail-fast 2>&1 | tee -a target/test.log || rc=1; \
	else \
		$(CARGO) test --workspace --no-fail-fast 2>&1 | tee target/test.log; rc=$$?; \
	fi; \
	if grep -q '^ *Compiling ' target/test.log; then \
		echo "make test: the test step compiled what the build step had not built (see target/test.log)"; rc=1; \
	fi; \
	awk '/^test result:/ {p += $$4; f += $$6} \
		/^ *Summary .* tests run:/ {for (i = 1; i <= NF; i++) {if ($$i ~ /^passed/) p += $$(i-1); if ($$i ~ /^failed/) f += $$(i-1)}} \
		END {printf "tests: %d passed, %d failed\n", p, f}' target/test.log; \
	exit $$rc

# The demo upstream: python3's http.server on 127.0.0.1:19081 serving
# conf/demo/, started here and stopped when radixgate exits.
# Plugins: every plugins/<name> crate is built, and so is every C or C++
# plugin there (c-plugins), and its .so copied into
# target/plugins (conf/config.yaml's plugins.dir, writable by its owner
# only, as the gateway requires); the test plugins live in tests/plugins/
# and are not installed.
run: build c-plugins
	@command -v python3 >/dev/null || { echo "make run needs python3 for the demo upstream"; exit 1; }
	@mkdir -p target/plugins; chmod go-w target/plugins; for d in plugins/*/; do \
		n=$$(basename $$d); \
		if grep -q "\"plugins/$$n\"" Cargo.toml; then \
			grep -q cdylib $$d/Cargo.toml || continue; \
			$(CARGO) build -q -p radixgate-plugin-$$n || exit 1; \
		elif ! ls $$d*.c $$d*.cc 2>/dev/null | grep -q .; then \
			continue; \
		fi; \
		cp $${CARGO_TARGET_DIR:-target}/debug/libradixgate_plugin_$$(echo $$n | tr - _).so target/plugins/ || exit 1; \
		chmod go-w target/plugins/libradixgate_plugin_$$(echo $$n | tr - _).so || exit 1; \
	done; echo "plugins in target/plugins: $$(ls target/plugins | tr '\n' ' ')"
	@# HTTPS for the demo: a self-signed certificate for localhost and
	@# 127.0.0.1 (made once), served on 9443 as gateway.tls's own
	@# certificate, through conf/config.yaml with a tls section added.
	@mkdir -p target/demo-tls; \
	if [ ! -s target/demo-tls/demo.crt ]; then \
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
			-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
			-keyout target/demo-tls/demo.key -out target/demo-tls/demo.crt 2>/dev/null || exit 1; \
	fi; \
	{ sed '/^gateway:/q' conf/config.yaml; \
	  printf '  tls:\n    listen: ["0.0.0.0:9443"]\n    cert: target/demo-tls/demo.crt\n    key: target/demo-tls/demo.key\n'; \
	  sed '1,/^gateway:/d' conf/config.yaml; } > target/demo-tls/config.yaml
	@mkdir -p logs
	@python3 -m http.server 19081 --bind 127.0.0.1 --directory conf/demo >/dev/null 2>&1 & up=$$!; \
	trap 'kill $$up 2>/dev/null' EXIT INT TERM; \
	echo "demo upstream: python3 http.server on 127.0.0.1:19081 (pid $$up)"; \
	echo "try: curl -i http://127.0.0.1:9080/demo/hello.txt"; \
	echo "     curl -i --cacert target/demo-tls/demo.crt https://localhost:9443/demo/hello.txt"; \
	$(CARGO) run -p radixgate -- --config target/demo-tls/config.yaml

# A new plugin from plugins/template: `make new-plugin NAME=my-plugin` makes
# plugins/my-plugin (package radixgate-plugin-my-plugin, plugin "my-plugin",
# type MyPlugin) and adds it to the workspace members.
new-plugin:
	@sh plugins/new-plugin.sh "$(NAME)"

bench: deps
	$(CARGO) bench -p radix-router

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
