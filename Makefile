# Two commands do all the set-up on a fresh Debian 12 machine:
#   make demo   install what is missing, build (Release), run examples/ecommerce
#   make test   install what is missing, build (build/test), run the whole ctest suite
# Others: make bench [WORKLOADS=W1,W3:never,W6] [N=200000], make fuzz [FUZZ_SECONDS=60],
# make format, make clean.
JOBS      ?= $(shell nproc)
BUILD_DIR ?= build
N         ?=
WORKLOADS ?=
CTEST_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps demo test test-long fuzz bench build-release build-test format clean

all: build-release

deps:
	@tools/install-deps.sh

$(BUILD_DIR)/release/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR)/release -DCMAKE_BUILD_TYPE=Release -DHERALD_ENABLE_TESTS=OFF

$(BUILD_DIR)/test/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR)/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_ENABLE_TESTS=ON

build-release: deps $(BUILD_DIR)/release/CMakeCache.txt
	cmake --build $(BUILD_DIR)/release -j $(JOBS)

build-test: deps $(BUILD_DIR)/test/CMakeCache.txt
	cmake --build $(BUILD_DIR)/test -j $(JOBS)

demo: build-release
	$(BUILD_DIR)/release/examples/ecommerce/ecommerce-demo

test: build-test
	cd $(BUILD_DIR)/test && ctest --output-on-failure --timeout 300 -j $(JOBS) $(CTEST_ARGS)

# The long fault-test mode (more iterations); see tests/README.md.
test-long: build-test
	cd $(BUILD_DIR)/test && HERALD_TEST_LONG=1 ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# libFuzzer targets (tests/fuzz), built with clang in build/fuzz with ASan and UBSan, each run
# for FUZZ_SECONDS after its seed corpus; installs clang and libFuzzer if missing.
fuzz:
	@HERALD_FUZZ=1 tools/install-deps.sh
	cmake -S . -B $(BUILD_DIR)/fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHERALD_FUZZ=ON -DHERALD_ENABLE_TESTS=OFF -DHERALD_ENABLE_BENCH=OFF \
	  -DHERALD_ENABLE_EXAMPLES=OFF -DHERALD_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(BUILD_DIR)/fuzz -j $(JOBS) --target segment_reader_fuzz
	cd $(BUILD_DIR)/fuzz && ctest --output-on-failure -L fuzz

bench: build-release
	$(BUILD_DIR)/release/bench/herald-bench $(if $(WORKLOADS),--workloads=$(WORKLOADS)) $(if $(N),--n=$(N))

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
