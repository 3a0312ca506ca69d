# SPDX-License-Identifier: GPL-2.0
#
# famfs-iomap.  `make run` for the demo, `make check` for every test; both set up a fresh
# machine.  The kernel build is cached outside the clone (FAMFS_CACHE).  KDIR=<build tree>
# builds the module against another kernel.
#
# When invoked by Kbuild (make -C $KDIR M=$PWD), only the Kbuild file matters.
ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

SCRIPTS := $(CURDIR)/scripts

.PHONY: all run check kernel kernel-pkg module vm bench profile clean deps series series-check

all: module

deps:
	@bash $(SCRIPTS)/setup-deps.sh

kernel: deps
	@bash $(SCRIPTS)/build-kernel.sh

module: deps
	@bash $(SCRIPTS)/build-module.sh

# Debian packages of the kernel and of the module; CONFIG=<.config> builds a host's kernel.
kernel-pkg: deps
	@bash $(SCRIPTS)/kernel-pkg.sh "$(CONFIG)"

# HOSTS=2: two guests sharing one memory, the owner creating files, the client reading them.
run: deps module
ifeq ($(HOSTS),2)
	@VM2_LIVE=1 bash $(SCRIPTS)/vm2.sh run_2host
else
	@bash $(SCRIPTS)/vm.sh run
endif

check:
	@bash $(SCRIPTS)/check.sh

vm: deps module
	@bash $(SCRIPTS)/vm.sh shell

series:
	@bash $(SCRIPTS)/make-series.sh $(KSRC)

series-check: deps
	@SERIES_CHECK_BUILD=1 bash $(SCRIPTS)/series-check.sh

bench: deps
	@bash $(SCRIPTS)/bench.sh

# Every instruction of one fault of each kind, function by function (Documentation/performance.rst).
profile: deps
	@BENCH_PROFILE=1 bash $(SCRIPTS)/bench.sh

clean:
	@bash -c '. $(SCRIPTS)/lib.sh; kd=$${KDIR:-$$(ls -td "$$FAMFS_CACHE"/kernel/*/build 2>/dev/null | head -n1)}; \
		[ -n "$$kd" ] && make -s -C "$$kd" M=$(CURDIR) clean || true'
	rm -rf target rust/fmap-host/fuzz/target
	@echo "kernel builds are kept in the cache; remove \$$FAMFS_CACHE (default ~/.cache/famfs-iomap) to drop them"

endif
