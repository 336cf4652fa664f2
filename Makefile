# The two commands of the README: `make run` and `make test`. Each installs the
# Debian packages it needs (skipping present ones), configures and builds.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
RUN_ARGS ?=

.PHONY: all deps configure build run test sanitize tsan bench format tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target workflow-engine
	./$(BUILD_DIR)/engine/workflow-engine $(RUN_ARGS)

test: build
	@bash scripts/fetch-test-tools.sh $(BUILD_DIR)/test-tools
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Every test against an AddressSanitizer + UndefinedBehaviorSanitizer build, in its own
# build dir (about twice the build and test time of `make test`; not part of CI). Tests
# that start the node start the instrumented binary, so the node is checked too.
sanitize: deps
	@cmake -S . -B $(BUILD_DIR)-asan -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWFE_SANITIZE=address,undefined >/dev/null
	@cmake --build $(BUILD_DIR)-asan -j $(JOBS)
	@bash scripts/fetch-test-tools.sh $(BUILD_DIR)-asan/test-tools
	cd $(BUILD_DIR)-asan && \
	  ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/tests/sanitize/ubsan.supp \
	  ctest --output-on-failure -j $(JOBS) --timeout 1200

# ThreadSanitizer: against a CAF built with it (scripts/build-caf-tsan.sh, from Debian's
# source tarball); RocksDB's own synchronisation stays invisible, so its internals are
# suppressed (tests/sanitize/tsan.supp). A report fails its test (exit code 66).
tsan: deps
	@bash scripts/build-caf-tsan.sh $(BUILD_DIR)-tsan/caf
	@cmake -S . -B $(BUILD_DIR)-tsan -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWFE_SANITIZE=thread >/dev/null
	@cmake --build $(BUILD_DIR)-tsan -j $(JOBS)
	@bash scripts/fetch-test-tools.sh $(BUILD_DIR)-tsan/test-tools
	cd $(BUILD_DIR)-tsan && \
	  LD_LIBRARY_PATH=$(CURDIR)/$(BUILD_DIR)-tsan/caf/lib \
	  TSAN_OPTIONS=halt_on_error=0:suppressions=$(CURDIR)/tests/sanitize/tsan.supp \
	  ctest --output-on-failure -j $(JOBS) --timeout 1200

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

# clang-tidy reads compile_commands.json, which names each source file only without
# unity batches: its own build dir, configured with them off (and protoc's headers made).
tidy: deps
	@cmake -S . -B $(BUILD_DIR)-tidy -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWFE_UNITY_BUILD=OFF >/dev/null
	@cmake --build $(BUILD_DIR)-tidy -j $(JOBS) --target wfe_proto
	@git ls-files '*.cpp' | grep -v '\.test\.cpp$$' | xargs clang-tidy -p $(BUILD_DIR)-tidy --quiet

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-tidy $(BUILD_DIR)-asan $(BUILD_DIR)-tsan
