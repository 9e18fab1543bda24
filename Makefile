# radixgate: `make run` serves the demo from conf/, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

# Debian packages the tests need: protoc (etcd-client), LuaJIT (OpenResty's
# luajit2), nginx with its lua module, etcd, wrk, a C compiler, and python3
# (the demo upstream, for `make run` and the demo test).
APT_PACKAGES := protobuf-compiler luajit2 nginx libnginx-mod-http-lua etcd-server wrk gcc curl python3
HAVE_DEPS := command -v protoc && command -v luajit && command -v nginx && \
	test -e /usr/lib/nginx/modules/ngx_http_lua_module.so && command -v etcd && \
	command -v wrk && command -v cc && command -v curl && command -v python3

.PHONY: deps build test run bench fmt lint new-plugin

deps:
	@if ! ( $(HAVE_DEPS) ) >/dev/null 2>&1; then \
		echo "installing test dependencies: $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build:
	$(CARGO) build --workspace

# The build step builds everything the tests use, the plugin .so files and
# the gateway binary included (the tests do not build them); the test
# step must then compile nothing, and fails when it did.
# The last line sums every test binary's result: "tests: N passed, N failed".
test: deps
	$(CARGO) build --workspace --all-targets
	@mkdir -p target; set -o pipefail; \
	$(CARGO) test --workspace --no-fail-fast 2>&1 | tee target/test.log; rc=$$?; \
	if grep -q '^ *Compiling ' target/test.log; then \
		echo "make test: the test step compiled what the build step had not built (see target/test.log)"; rc=1; \
	fi; \
	awk '/^test result:/ {p += $$4; f += $$6} END {printf "tests: %d passed, %d failed\n", p, f}' target/test.log; \
	exit $$rc

# The demo upstream: python3's http.server on 127.0.0.1:19081 serving
# conf/demo/, started here and stopped when radixgate exits.
# Plugins: every plugins/<name> crate is built and its .so copied into
# target/plugins (conf/config.yaml's plugins.dir, writable by its owner
# only, as the gateway requires); the test plugins live in tests/plugins/
# and are not installed.
run: build
	@command -v python3 >/dev/null || { echo "make run needs python3 for the demo upstream"; exit 1; }
	@mkdir -p target/plugins; chmod go-w target/plugins; for d in plugins/*/; do \
		n=$$(basename $$d); \
		grep -q "\"plugins/$$n\"" Cargo.toml || continue; \
		$(CARGO) build -q -p radixgate-plugin-$$n && \
		cp $${CARGO_TARGET_DIR:-target}/debug/libradixgate_plugin_$$(echo $$n | tr - _).so target/plugins/ || exit 1; \
		chmod go-w target/plugins/libradixgate_plugin_$$(echo $$n | tr - _).so || exit 1; \
	done; echo "plugins in target/plugins: $$(ls target/plugins | tr '\n' ' ')"
	@python3 -m http.server 19081 --bind 127.0.0.1 --directory conf/demo >/dev/null 2>&1 & up=$$!; \
	trap 'kill $$up 2>/dev/null' EXIT INT TERM; \
	echo "demo upstream: python3 http.server on 127.0.0.1:19081 (pid $$up)"; \
	echo "try: curl -i http://127.0.0.1:9080/demo/hello.txt"; \
	$(CARGO) run -p radixgate -- --config conf/config.yaml

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
