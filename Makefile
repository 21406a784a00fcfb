# SPDX-License-Identifier: MIT
# pyscope: eBPF runtime tracer for CPython.  See README.md.

OUTPUT ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
ARCH := x86
SAN ?=

CFLAGS ?= -O2 -g
# override: `make CFLAGS=-O1` (as the asan target does) keeps the required flags
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	  -D_GNU_SOURCE -Iinclude -Isrc -I$(OUTPUT) -I/usr/include/cjson
LDLIBS := -lbpf -lelf -lz -lcjson -lcapstone -lpthread

ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
endif

# Clang drops the multiarch include dirs for -target bpf; add them back.
CLANG_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -D__BPF__ \
	      -Iinclude -I$(OUTPUT) $(CLANG_SYS_INCLUDES) -Wall -Werror

# bpf/*.bpf.c: the programs pyscope loads; bpf/lib/: their helper headers and,
# in bpf/lib/maps.bpf.h, pyscope.bpf.c's maps and knobs.  bpf/bench/: the
# benchmark's programs (tools/psbench), built only for it.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/lib/*.bpf.h) $(wildcard include/*.h)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
BENCH_BPF_SRCS := $(wildcard bpf/bench/*.bpf.c)
BENCH_SKELS := $(patsubst bpf/bench/%.bpf.c,$(OUTPUT)/bench/%.skel.h,$(BENCH_BPF_SRCS))

# src/ has a folder per layer (docs/DEVELOPING.md).  The pure folders need
# neither BPF nor root: they are linked into the unit tests and fuzzers as
# well as pyscope.  The application folders drive the kernel side.
PURE_DIRS := cli plan target target/gen model sink tracefile net util
APP_DIRS := cmd session probes
CORE_SRCS := $(foreach d,$(PURE_DIRS),$(wildcard src/$(d)/*.c))
APP_SRCS := src/main.c $(foreach d,$(APP_DIRS),$(wildcard src/$(d)/*.c))
CORE_OBJS := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(CORE_SRCS))
APP_OBJS := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(APP_SRCS))
SRC_HDRS := $(wildcard src/*/*.h src/*/*/*.h) $(wildcard include/*.h)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps demo test unit e2e clean offsets bench fuzz fuzz-build asan memcheck test-deps

all: $(OUTPUT)/pyscope

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

define bpf_obj
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp
endef

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h
	$(bpf_obj)

$(OUTPUT)/bench/%.bpf.o: bpf/bench/%.bpf.c $(wildcard include/*.h) $(OUTPUT)/vmlinux.h
	$(bpf_obj)

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/obj/%.o: src/%.c $(SRC_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(APP_OBJS): $(SKELS)

$(OUTPUT)/pyscope: $(CORE_OBJS) $(APP_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Benchmark helper for tools/bench.py (floor and collector measurements),
# with its own BPF programs (bpf/bench/).
PSBENCH_OBJS := $(CORE_OBJS) $(OUTPUT)/obj/probes/ulink.o $(OUTPUT)/obj/session/launch.o
$(OUTPUT)/psbench: tools/psbench.c $(PSBENCH_OBJS) $(BENCH_SKELS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(PSBENCH_OBJS) $(LDLIBS) -o $@

# What one uprobe hit costs here, emulated and single-stepped (tools/bench.py).
$(OUTPUT)/trapcost: tools/trapcost.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(CORE_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DSRCDIR=\"$(CURDIR)\" $(LDFLAGS) $< $(CORE_OBJS) $(LDLIBS) -lcmocka -o $@

# Fake interpreters test_elf must refuse: a Py_DEBUG build and a free-threaded one.
$(OUTPUT)/tests/fake_debug.so: tests/unit/fixtures/fake_builds.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -DDEBUG_BUILD $< -o $@

$(OUTPUT)/tests/fake_ft.so: tests/unit/fixtures/fake_builds.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC $< -o $@

$(OUTPUT)/tests/test_elf: $(OUTPUT)/tests/fake_debug.so $(OUTPUT)/tests/fake_ft.so
$(OUTPUT)/tests/test_elf: CFLAGS += -DTESTBIN=\"$(abspath $(OUTPUT)/tests)\"

# Regenerate the committed offsets table from the installed interpreters.
offsets:
	tools/gen_offsets.sh > src/target/gen/offsets_table.c.new && \
		mv src/target/gen/offsets_table.c.new src/target/gen/offsets_table.c

deps:
	@tools/deps.sh

demo: deps
	$(MAKE) all
	tools/demo.sh

unit: $(UNIT_BINS)
	@tests/run_unit.sh $(UNIT_BINS)

e2e: $(OUTPUT)/pyscope
	@tests/e2e/run.sh

test-deps:
	@tools/test-deps.sh

# One summary line at the end: "N passed, N failed".
test: $(OUTPUT)/pyscope $(UNIT_BINS) test-deps
	@tests/run_all.sh

asan:
	$(MAKE) OUTPUT=build-asan SAN=1 CFLAGS="-O1 -g" test

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c) over the pure modules, built
# with clang, ASan and UBSan; `make fuzz` runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJS := $(patsubst src/%.c,$(OUTPUT)/fuzz/%.o,$(CORE_SRCS))
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all -std=gnu11 -Wall -Wextra -Werror -Wshadow \
	       -Wno-missing-field-initializers -D_GNU_SOURCE -Iinclude -Isrc -I/usr/include/cjson

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/%.o: src/%.c $(SRC_HDRS) | $(OUTPUT)/fuzz
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(LDLIBS) -o $@

# keep the instrumented objects between runs
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(OUTPUT)/fuzz $(FUZZ_NAMES)

# valgrind memcheck over pyscope info, a trace and every unit-test binary
memcheck: $(OUTPUT)/pyscope $(UNIT_BINS)
	@tests/memcheck.sh $(OUTPUT)

bench: $(OUTPUT)/pyscope $(OUTPUT)/psbench $(OUTPUT)/trapcost
	@command -v bpftrace >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bpftrace; }
	python3 tools/bench.py

clean:
	rm -rf $(OUTPUT) build-asan
