# gpusim front door. The two commands of the README:
#
#   make         install missing Debian packages, configure, build, run the main job
#   make test    the same set-up, then the whole test suite through CTest
#
# Everything else here is a convenience for developers (see docs/development.md). The real build is
# CMake; this file only chooses build directories and options and remembers them, so that repeated
# calls are incremental and fast.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors in CI (.ci/run exports CI=1) and stay warnings for local work.
WERROR     ?= $(if $(CI),ON,OFF)
CMAKE      ?= cmake
CTEST      ?= ctest

# The main job: the default benchmark -- every built-in scenario under every policy, in parallel
# on every core, as a table (docs/results.md). BENCH_ARGS adds options (--format json ...).
MAIN_JOB   = $(BUILD)/bench/gpusim-bench run $(BENCH_ARGS)

.PHONY: all build deps test test-asan test-tsan memcheck soak install format format-check clean \
        readme-results cost-model-doc validation-doc determinism compare-allocators fuzz fuzz-ci \
        fuzz-build

all: build
	@$(MAIN_JOB)

deps:
	@sh tools/ensure-deps.sh

# configure_dir DIR BUILD_TYPE EXTRA_OPTIONS: (re)configure DIR when it has never been configured
# or when the options differ from the last configure (remembered in DIR/.gpusim-options).
define configure_dir
	@mkdir -p $(1)
	@opts='-DCMAKE_BUILD_TYPE=$(2) -DGPUSIM_WERROR=$(WERROR) $(3)'; \
	if [ ! -f $(1)/CMakeCache.txt ] || [ "$$(cat $(1)/.gpusim-options 2>/dev/null)" != "$$opts" ]; then \
	    echo "gpusim: configuring $(1) ($$opts)"; \
	    $(CMAKE) -S . -B $(1) $$opts >$(1)/.configure.log 2>&1 || { cat $(1)/.configure.log; exit 1; }; \
	    echo "$$opts" >$(1)/.gpusim-options; \
	fi
endef

build: deps
	$(call configure_dir,$(BUILD),$(BUILD_TYPE),)
	@$(CMAKE) --build $(BUILD) -j $(JOBS) -- --no-print-directory -s

test: build
	@$(CTEST) --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer (libc allocator, Debug).
test-asan: deps
	$(call configure_dir,$(BUILD)-asan,Debug,-DGPUSIM_SANITIZE=address;undefined)
	@$(CMAKE) --build $(BUILD)-asan -j $(JOBS) -- --no-print-directory -s
	@$(CTEST) --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS)

# The test suite under ThreadSanitizer. Threads exist in gpusim-bench's runner (a libuv pool running
# worlds in parallel, the Ctrl-C path) and in the allocator's process-wide counter, so TSAN_TESTS
# (a CTest regex; empty: the whole suite) lets CI run just the tests that reach them.
TSAN_TESTS ?=
test-tsan: deps
	$(call configure_dir,$(BUILD)-tsan,Debug,-DGPUSIM_SANITIZE=thread)
	@$(CMAKE) --build $(BUILD)-tsan -j $(JOBS) -- --no-print-directory -s
	@$(CTEST) --test-dir $(BUILD)-tsan --output-on-failure -j $(JOBS) \
	    $(if $(TSAN_TESTS),-R '$(TSAN_TESTS)',)

# The unit tests, the demo and gpusim-bench under valgrind memcheck (libc allocator: jemalloc hides
# its heap from valgrind). Any error or leak fails the target. MEMCHECK_TESTS names the unit tests
# to run (module names: "alloc host_mm"); empty: every one. gpusim-bench runs a small scenario
# under every policy on two threads, and once out of memory budget mid-run.
VALGRIND = valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
           --errors-for-leak-kinds=all --track-origins=yes
MEMCHECK_TESTS ?=
MEMCHECK_BIN = $(if $(MEMCHECK_TESTS),$(MEMCHECK_TESTS:%=$(BUILD)-memcheck/tests/test_%),\
               $(BUILD)-memcheck/tests/test_*)
memcheck: deps
	@command -v valgrind >/dev/null || { echo "gpusim: valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
	$(call configure_dir,$(BUILD)-memcheck,Debug,-DGPUSIM_ALLOCATOR=libc)
	@$(CMAKE) --build $(BUILD)-memcheck -j $(JOBS) -- --no-print-directory -s
	@set -e; for t in $(MEMCHECK_BIN); do \
	    [ -x "$$t" ] || { case "$$t" in *'*'*|*.out|*.valgrind) continue;; esac; echo "memcheck: no $$t" >&2; exit 1; }; \
	    printf 'memcheck %-28s ' "$${t##*/}"; \
	    $(VALGRIND) --log-file=$$t.valgrind $$t >$$t.out 2>&1 || { echo FAILED; cat $$t.valgrind $$t.out; exit 1; }; \
	    echo ok; \
	done; \
	d=$(BUILD)-memcheck/bench/gpusim-demo; \
	printf 'memcheck %-28s ' "$${d##*/}"; \
	$(VALGRIND) --log-file=$$d.valgrind $$d --time 10ms >$$d.out 2>&1 || { echo FAILED; cat $$d.valgrind $$d.out; exit 1; }; \
	echo ok; \
	b=$(BUILD)-memcheck/bench/gpusim-bench; \
	for args in "--jobs 2" "--policy refault,fence-reload,pin --memory-budget 18MiB"; do \
	    printf 'memcheck %-28s ' "gpusim-bench $${args%% *}"; \
	    rc=0; $(VALGRIND) --log-file=$$b.valgrind $$b run tests/bench/tiny.ini $$args >$$b.out 2>&1 || rc=$$?; \
	    [ $$rc -le 1 ] || { echo FAILED; cat $$b.valgrind $$b.out; exit 1; }; \
	    echo ok; \
	done

# The default benchmark gives byte-identical records (apart from wall time) run after run, across
# --jobs, and across the jemalloc release build and the libc debug build (tools/check-determinism.sh).
determinism: build
	$(call configure_dir,$(BUILD)-memcheck,Debug,-DGPUSIM_ALLOCATOR=libc)
	@$(CMAKE) --build $(BUILD)-memcheck -j $(JOBS) --target gpusim-bench -- --no-print-directory -s
	@sh tools/check-determinism.sh $(BUILD)/bench/gpusim-bench $(BUILD)-memcheck/bench/gpusim-bench

# Wall time and peak RSS of the default benchmark (--jobs 1) with the jemalloc build and a libc
# build of the same type, ALLOC_REPS alternating runs each, medians and ratios
# (tools/compare-allocators.sh; docs/performance.md).
ALLOC_REPS ?= 5
compare-allocators: build
	$(call configure_dir,$(BUILD)-libc,$(BUILD_TYPE),-DGPUSIM_ALLOCATOR=libc)
	@$(CMAKE) --build $(BUILD)-libc -j $(JOBS) --target gpusim-bench -- --no-print-directory -s
	@sh tools/compare-allocators.sh $(BUILD)/bench/gpusim-bench $(BUILD)-libc/bench/gpusim-bench $(ALLOC_REPS)

# The long randomized soaks, off in the default suite (docs/reliability.md §5):
#   the host MM alone, checker after every step: SOAK_SEEDS seeds of 1,000 batches each (about
#   0.7 s per seed in the release build);
#   every driver policy on the host and the GPU, every checker after every event:
#   SOAK_EVENT_SEEDS seeds per policy, each also run unchecked (about 25 s per seed and policy).
SOAK_SEEDS ?= 200
SOAK_EVENT_SEEDS ?= 4
soak: build
	GPUSIM_HOST_SOAK=$(SOAK_SEEDS) $(BUILD)/tests/test_host_random
	GPUSIM_MIRROR_EVENTS=$(SOAK_EVENT_SEEDS) $(BUILD)/tests/test_mirror_random

# Fuzzing (tests/fuzz/README.md): the libFuzzer targets, built with clang under ASan+UBSan and the
# libc allocator in $(BUILD)-fuzz. `make fuzz` is the long run (FUZZ_SECONDS per target, one target
# after another), growing $(BUILD)-fuzz/corpus/<target> from the seeds of tests/fuzz/corpus;
# `make fuzz-ci` is the bounded run for CI (60 s per target by default). Both fail on any crash,
# leak, sanitizer report or timeout (the input is kept in $(BUILD)-fuzz/artifacts/<target>/) and
# end with each target's executions and coverage. FUZZ_TARGETS chooses the targets.
FUZZ_TARGETS ?= packet scenario units api
FUZZ_CC      ?= clang
fuzz-build: deps
	@sh tools/ensure-deps.sh fuzz
	$(call configure_dir,$(BUILD)-fuzz,RelWithDebInfo,-DCMAKE_C_COMPILER=$(FUZZ_CC) -DGPUSIM_FUZZ=ON)
	@$(CMAKE) --build $(BUILD)-fuzz -j $(JOBS) --target $(FUZZ_TARGETS:%=fuzz_%) -- --no-print-directory -s

fuzz: FUZZ_SECONDS ?= 600
fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: FUZZ_SECONDS ?= 60
fuzz-ci: FUZZ_SEED ?= 1
fuzz-ci: fuzz-build
	@FUZZ_SEED=$(FUZZ_SEED) sh tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Regenerates docs/results/ and the README's results section from a run of the default set.
readme-results: build
	@sh tools/update-readme-results.sh $(BUILD)/bench/gpusim-bench

# Regenerates docs/cost-model.md from the parameter tables and presets (CTest docs.cost_model
# fails until it is). Written to a temporary file first: a failed build leaves the doc alone.
cost-model-doc: build
	@$(BUILD)/bench/gpusim-bench presets --markdown >docs/cost-model.md.tmp
	@mv docs/cost-model.md.tmp docs/cost-model.md
	@echo "gpusim: docs/cost-model.md regenerated"

# Regenerates the table of docs/validation.md from gpusim-validate --markdown (CTest validation.doc
# checks that they agree).
validation-doc: build
	@sh tools/update-validation-doc.sh $(BUILD)/tests/validation/gpusim-validate

install: build
	@$(CMAKE) --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

# The same files as the api.format test: everything C under the source directories, tracked or not.
FORMAT_FILES = $(shell find include src tests bench sim -name '*.[ch]' 2>/dev/null)

format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-memcheck $(BUILD)-fuzz $(BUILD)-libc
