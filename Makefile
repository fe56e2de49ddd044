# SPDX-License-Identifier: GPL-2.0
# shrinkfs: a Rust filesystem and a QEMU rig for beating up dcache changes.
#
#   make setup    install what the rig needs (idempotent)
#   make check    build kernel + module + selftests, boot, test, judge
#   make          build the module (KDIR= for your own Rust-enabled kernel)
#   make kernel   build (or reuse) the selected kernel
#   make vm       a shell in the guest; make vm RUN=script.sh runs a script
#                 (ICOUNT=1: one vCPU whose clock counts instructions)
#   make kselftest-install   the selftests as the kernel's run_kselftest.sh
#                 runs them, in out/kselftest; in the guest:
#                 make kselftest-install vm RUN=qemu/guest/run-kselftest
#   make patches-check   checkpatch and a build after each patch of the series
#   make torture  the torture alone: DURATION=seconds SEED=n FAULTS=1 FUZZ=1 (report in out/torture/)
#   make fuzz     the fuzzer alone: INPUTS=n (default 100000) or DURATION=seconds, SEED=n
#   make mutant-check   the torture catches every mutant in qemu/mutants/
#                 (SHARD=i/N: every N-th run only; MUTANTS= : torture
#                 campaign of the unmutated kernel, SEEDS seeds)
#   make merge RESULTS="dir ..."   judge the shards' OUT dirs as one run
#   make slurm-check   a single-node Slurm, a 4-shard mutant-check through it
#
#   make boot-time   boot-to-shell time, busybox vs host-root guest
#   make bench    stock vs patched perf kernels, icount and wall clock (out/bench/)
#   make bench-check   fail if the series costs more than the gate allows
#
# Knobs: KERNEL=patched|stock  MUTANT=file.patch (kernel or module)  KSRC=6.12.y git tree
#        KDIR=kernel build dir  ACCEL=tcg|kvm|auto  TIMEOUT=seconds  VERBOSE=1
#        PROFILE=1: every vCPU's program counter sampled over QMP, counted per
#        kernel function (profile.txt beside the run's logs)
#        STALL=seconds of silence on the guest's results channel before it is
#        called stuck, dumped and stopped (default 300; 0: only TIMEOUT)
#        CPUS=vCPUs of the guest (default: the host's cores; icount: one)
#        APPEND="kernel params" (e.g. kmemleak=on)
#        GUEST=host|busybox (the host's root shared read-only, or the
#        self-contained initramfs; `vm` defaults to host, the rest to busybox)

CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(PATH)

KERNEL ?= patched
ACCEL ?= tcg
# At most the debug kernel's NR_CPUS.
CPUS ?= $(shell n=$$(nproc); echo $$(( n > 8 ? 8 : n )))
TIMEOUT ?= 900
STALL ?= 300
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/shrinkfs
OUT := $(CURDIR)/out

RIG := $(CURDIR)/target/release/shrinkfs-rig
# MUTANT= names a patch to the kernel or, if its header says `Mutates:
# module`, to the module: then the kernel is the unmutated one, and the module
# is built from a copy of its sources with the patch applied.
module_mutant := $(if $(MUTANT),$(shell grep -qx 'Mutates: module' $(MUTANT) && echo $(MUTANT)))
kernel_mutant := $(if $(module_mutant),,$(MUTANT))
MODULE_DIR := $(if $(module_mutant),$(OUT)/module-mutant,$(CURDIR))
# One record per kernel variant, so runs for different kernels can overlap.
KDIR_FILE := $(OUT)/kdir.$(KERNEL)$(if $(kernel_mutant),+$(basename $(notdir $(kernel_mutant))))$(if $(KSRC),+ksrc)

ifeq ($(origin KDIR),undefined)
# The rig builds or finds the kernel and records its build dir; the recipes
# below read it only after `kernel` has run.
kdir = $(shell cat $(KDIR_FILE))
else
kdir = $(KDIR)
endif
# kselftest_harness.h comes from the kernel's source tree.
ksrc_tree = $(if $(wildcard $(kdir)/source),$(kdir)/source,$(kdir))

kernel_args := --variant $(KERNEL) --cache $(CACHE)/kernels --repo $(CURDIR) --jobs $(JOBS) \
	$(if $(kernel_mutant),--patch $(abspath $(kernel_mutant))) $(if $(KSRC),--ksrc $(abspath $(KSRC)))
guest_args = --kdir $(kdir) --module $(MODULE_DIR)/shrinkfs.ko --selftests $(OUT)/selftests \
	--init $(CURDIR)/qemu/guest/init --out $(OUT) --accel $(ACCEL) --cpus $(CPUS) \
	--timeout $(TIMEOUT) --stall $(STALL) $(if $(VERBOSE),--verbose) --host-cwd $(CURDIR) \
	$(if $(PROFILE),--profile)
# Every knob that shaped a run, for the `make torture ...` line a failed run
# prints (SEED, DURATION, CPUS and RACE_DELAYS the rig adds itself).
quote = '$(subst ','\'',$(1))'
repeat_knobs = $(strip KERNEL=$(KERNEL) ACCEL=$(ACCEL) $(if $(MUTANT),MUTANT=$(abspath $(MUTANT))) \
	$(if $(KSRC),KSRC=$(abspath $(KSRC))) $(if $(filter command line,$(origin KDIR)),KDIR=$(KDIR)) \
	$(if $(strip $(APPEND)),APPEND=$(call quote,$(strip $(APPEND)))) $(if $(GUEST),GUEST=$(GUEST)))
host_root = $(if $(filter host,$(1)),--host-root /,$(if $(filter busybox,$(1)),,\
	$(error GUEST must be host or busybox, not '$(1)')))

all: module

setup:
	@bash qemu/setup $(CACHE)

rig:
	@cargo build --release --quiet -p shrinkfs-rig

kernel: rig
ifeq ($(origin KDIR),undefined)
	@mkdir -p $(OUT)
	@$(RIG) kernel $(kernel_args) > $(KDIR_FILE).tmp.$$$$ && mv $(KDIR_FILE).tmp.$$$$ $(KDIR_FILE)
else
	@echo "kernel: using KDIR=$(KDIR)"
endif

module: kernel
ifneq ($(module_mutant),)
	@rm -rf $(MODULE_DIR) && mkdir -p $(MODULE_DIR) && cp -a Kbuild rust $(MODULE_DIR)/
	@find $(MODULE_DIR) \( -name '*.o' -o -name '.*.cmd' \) -delete
	patch -d $(MODULE_DIR) -p1 -F0 -s < $(abspath $(module_mutant))
endif
	$(MAKE) -C $(kdir) M=$(MODULE_DIR) LLVM=1 ARCH=x86_64 modules

selftests: kernel
	$(MAKE) -C selftests KSRC=$(ksrc_tree) OUT=$(OUT)/selftests

# Not $(OUT)/selftests: the rig puts every program there into the guest.
kselftest-install: kernel
	$(MAKE) -C selftests KSRC=$(ksrc_tree) OUT=$(OUT)/selftests \
		install INSTALL_PATH=$(OUT)/kselftest

host-tests:
	cargo fmt --all -- --check
	rustfmt --edition 2021 --check rust/shrinkfs_module.rs
	cargo clippy --release --quiet --all-targets -- -D warnings
	cargo test --release --quiet

# Code the Rust VFS layer must refuse (rust/compile_fail/), built in a copy of
# the module: the build must fail, and only with the type errors it is for.
CF_DIR = $(OUT)/compile-fail
compile-fail: kernel
	@rm -rf $(CF_DIR) && mkdir -p $(CF_DIR) && cp -a Kbuild rust $(CF_DIR)/
	@find $(CF_DIR) -name '*.o' -delete
	@if $(MAKE) -C $(kdir) M=$(CF_DIR) LLVM=1 ARCH=x86_64 SHRINKFS_COMPILE_FAIL=1 \
		modules > $(CF_DIR)/build.log 2>&1; then \
		echo "compile-fail: rust/compile_fail/ compiled ($(CF_DIR)/build.log)"; exit 1; fi
	@errors=$$(grep -c '^error\[' $(CF_DIR)/build.log); \
	mismatches=$$(grep -c 'expected `&FileSystemType<Other>`, found `&FileSystemType<ShrinkFs>`' \
		$(CF_DIR)/build.log); \
	if [ "$$errors" -eq 0 ] || [ "$$errors" -ne "$$mismatches" ]; then \
		echo "compile-fail: $$errors errors, $$mismatches of them the expected type mismatch"; \
		grep -A6 '^error' $(CF_DIR)/build.log; exit 1; fi; \
	echo "compile-fail: refused, $$mismatches type mismatches (FileSystemType<Other> vs <ShrinkFs>)"

# kmemleak is built in but asleep; the check wakes it, and the guest init scans
# for leaks after the tests. selftests/known-failures/$(KERNEL).json names the
# tests that reproduce bugs of that kernel: they must fail there.
check: host-tests module selftests compile-fail
	@$(RIG) check $(guest_args) $(call host_root,$(or $(GUEST),busybox)) \
		--append "kmemleak=on $(APPEND)" --self-test \
		$(if $(wildcard selftests/known-failures/$(KERNEL).json),\
			--known-failures $(CURDIR)/selftests/known-failures/$(KERNEL).json) \
		--host-root-check $(CURDIR)/qemu/guest/host-root-check --repeat-knobs "$(repeat_knobs)"

# The torture alone, any length, any kernel: make torture DURATION=120 SEED=7
# (RACE_DELAYS=0: the module's race windows not widened; FAULTS=1, FUZZ=1:
# the fault and fuzz threads beside the forces)
DURATION ?= 60
torture: module selftests
	@$(RIG) torture $(guest_args) $(call host_root,$(or $(GUEST),busybox)) \
		--append "kmemleak=on $(APPEND)" --duration $(DURATION) \
		$(if $(SEED),--seed $(SEED)) $(if $(LOAD),--load $(call quote,$(LOAD))) \
		$(if $(RACE_DELAYS),--race-delays $(RACE_DELAYS)) \
		$(if $(FAULTS),--faults) $(if $(FUZZ),--fuzz) --repeat-knobs "$(repeat_knobs)"

# The fuzzer alone: INPUTS inputs as root (default 100000) and a tenth as
# many as nobody, or DURATION seconds in all if given; SEED=n replays a run.
INPUTS ?= 100000
fuzz: module selftests
	@$(RIG) fuzz $(guest_args) --append "kmemleak=on $(APPEND)" --inputs $(INPUTS) \
		$(if $(filter command line environment,$(origin DURATION)),--duration $(DURATION)) \
		$(if $(SEED),--seed $(SEED)) --repeat-knobs "$(repeat_knobs)"

# Every mutant kernel (and the unmutated one) under the torture, SEEDS seeds
# of DURATION seconds each, once per set of race delays in RACE_DELAY_SETS
# (the first set gates the mutants): make mutant-check [MUTANTS="a.patch b.patch"]
# (BASELINE=0: without the unmutated kernel's runs; SHARD=i/N: only the runs
# whose index is i modulo N, judged later by `make merge`)
MUTANTS ?= $(wildcard qemu/mutants/*.patch)
# Patterns in MUTANTS expanded; a name that matches nothing is kept, for the
# rig to refuse.
mutant_files = $(foreach m,$(MUTANTS),$(or $(wildcard $(m)),$(m)))
SEEDS ?= 10
MUTANT_DURATION ?= 120
RACE_DELAY_SETS ?= 0,10,50,200 0
mutant-check: rig selftests
	@$(RIG) mutant-check $(foreach m,$(mutant_files),--mutant $(abspath $(m))) --seeds $(SEEDS) \
		--duration $(MUTANT_DURATION) $(foreach d,$(RACE_DELAY_SETS),--race-delays $(d)) \
		--append "$(APPEND)" $(if $(filter 0,$(BASELINE)),--no-baseline) \
		--cache $(CACHE)/kernels --repo $(CURDIR) --jobs $(JOBS) \
		$(if $(KSRC),--ksrc $(abspath $(KSRC))) --selftests $(OUT)/selftests \
		--init $(CURDIR)/qemu/guest/init --out $(OUT) --accel $(ACCEL) --cpus $(CPUS) \
		--timeout $(TIMEOUT) --stall $(STALL) $(if $(VERBOSE),--verbose) \
		$(if $(SHARD),--shard $(SHARD))

# The shards' output directories (each one's OUT) judged as one run, as
# mutant-check or bench would have judged it: make merge RESULTS="a b c"
MERGED ?= $(OUT)/merged
merge: rig
	@$(if $(strip $(RESULTS)),,$(error RESULTS= names the shards' OUT directories))
	@$(RIG) merge --out $(MERGED) $(RESULTS)

# A single-node Slurm on this machine (slurm-wlm, munge; installs them) and
# a 4-shard mutant-check through qemu/scale/slurm, merged by a dependent job.
slurm-check: rig
	@bash qemu/scale/slurm/local-check $(CURDIR)

vm: module selftests
	@$(RIG) vm $(guest_args) $(call host_root,$(or $(GUEST),host)) --append "$(APPEND)" \
		$(if $(RUN),--run $(abspath $(RUN))) $(if $(ICOUNT),--icount)

# The benchmark (SHARD=i/N: the reps whose number, from 0, is i modulo N):
# make bench [BENCH_REPS=10 BENCH_SIZES=1000,3000,10000,30000,100000
# BENCH_SHAPES=flat,bushy,deep BENCH_MODES=icount,wall MUTANT=on-the-patched-kernel.patch]
BENCH_REPS ?= 10
BENCH_SIZES ?= 1000,3000,10000,30000,100000
BENCH_SHAPES ?= flat,bushy,deep
BENCH_MODES ?= icount,wall
bench: rig selftests
	$(MAKE) -C bench/guest OUT=$(OUT)/bench
	@$(RIG) bench --reps $(BENCH_REPS) --sizes $(BENCH_SIZES) --shapes $(BENCH_SHAPES) \
		--modes $(BENCH_MODES) --cache $(CACHE)/kernels --repo $(CURDIR) --jobs $(JOBS) \
		$(if $(KSRC),--ksrc $(abspath $(KSRC))) $(if $(MUTANT),--patch $(abspath $(MUTANT))) \
		--program $(OUT)/bench/shrinkfs_bench \
		--selftests $(OUT)/selftests --init $(CURDIR)/qemu/guest/init --out $(OUT) \
		--accel $(ACCEL) --cpus $(CPUS) --timeout $(TIMEOUT) $(if $(VERBOSE),--verbose) \
		$(if $(SHARD),--shard $(SHARD))

bench-check:
	@cargo run --release --quiet -p shrinkfs-bench -- check $(OUT)/bench/results.json

# Boot-to-shell time of both guests, booted alternately: make boot-time BOOTS=5
BOOTS ?= 5
boot-time: module selftests
	@$(RIG) boot-time $(guest_args) --append "$(APPEND)" --boots $(BOOTS)

# checkpatch --strict on every patch of the series, and a kernel build after
# each one (grown incrementally from the stock kernel).
patches-check: rig
	@$(RIG) patches-check $(filter-out --variant $(KERNEL),$(kernel_args))

# Scan a console log for kernel splats: make scan LOG=console.log
scan: rig
	@$(RIG) scan $(LOG)

# Every cached kernel build (each takes about 2 GB).
cache-clean:
	rm -rf $(CACHE)/kernels

clean:
	-$(MAKE) -C $(kdir) M=$(CURDIR) LLVM=1 ARCH=x86_64 clean 2>/dev/null
	rm -rf $(OUT)

.PHONY: all setup rig kernel module selftests kselftest-install host-tests compile-fail check torture fuzz mutant-check merge slurm-check vm boot-time bench bench-check scan clean cache-clean patches-check
