# SPDX-License-Identifier: GPL-2.0
#
# KTP: a TCP-like reliable transport as a Linux kernel module.
#
#   make            build the module (module/ktp.ko), libktp, tools, selftests
#   make demo       boot the test VM and show KTP at work
#   make check      checkpatch, host unit tests, then every selftest in the VM
#   make check-debug  every selftest on a KASAN/lockdep/kmemleak kernel, with
#                   fault injection (builds that kernel once, ~20 min)
#   make vm         interactive shell in the test VM with ktp.ko loaded
#   make bench      KTP against Linux TCP in the VM, as ratios
#   make deps       install prerequisites from Debian and prepare the VM kit
#   make install    libktp, its headers, ktp.pc, the tools and man pages
#                   (PREFIX=/usr/local, DESTDIR= honoured)
#   make KDIR=...   build the module for another kernel tree
#
# The VM kit (Debian's stock kernel, unpacked, never installed) and the
# kselftest headers live in $(KTP_CACHE), one directory per kernel ABI.

KTP_CACHE ?= $(HOME)/.cache/ktp
export KTP_CACHE

# Default: the headers of the Debian 6.1 kernel the test VM boots.
KDIR ?= /usr/src/linux-headers-$(shell scripts/deps.sh abi)
KSFT_INC = $(KTP_CACHE)/src/tools/testing/selftests
CHECKPATCH = $(KTP_CACHE)/src/scripts/checkpatch.pl

all: module userspace selftests

deps:
	@scripts/deps.sh vm

deps-build:
	@scripts/deps.sh build

deps-debug:
	@scripts/deps.sh debug

module: deps-build
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: deps-build
	$(MAKE) -C userspace

install: deps-build
	$(MAKE) -C userspace install

selftests: userspace
	$(MAKE) -C selftests KSFT_INC=$(KSFT_INC)

# sparse over the module: make C=2 in kbuild terms.
sparse: deps-build
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

checkpatch: deps-build
	scripts/checkpatch.sh $(CHECKPATCH)

check: deps all
	scripts/check.sh

# The debug kernel and a ktp.ko for it are built by the script, in the
# cache and a scratch copy; KTP_PLANT=uaf|leak plants a bug it must catch.
check-debug: deps-debug userspace selftests
	KTP_PLANT="$(KTP_PLANT)" scripts/check-debug.sh

demo: deps all
	scripts/demo.sh

# KTP against Linux TCP in the VM, interleaved; docs/performance.md
bench: deps all
	scripts/bench.sh

vm: deps all
	scripts/vm.sh -i

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests KSFT_INC=none clean
	$(MAKE) -C userspace/tests clean

.PHONY: all deps deps-build deps-debug module userspace install selftests \
	sparse checkpatch check check-debug demo bench vm clean
