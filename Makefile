# SPDX-License-Identifier: GPL-2.0
#
# KTP: a TCP-like reliable transport as a Linux kernel module.
#
#   make            build the module (module/ktp.ko), libktp, tools, selftests
#   make demo       boot the test VM and show KTP at work
#   make check      checkpatch, host unit tests, then every selftest in the VM
#   make check-debug  every selftest on a KASAN/lockdep/kmemleak kernel, with
#                   fault injection (builds that kernel once, ~20 min)
#   make fuzz       the fuzzers (selftests/ktp_fuzz_*), KTP_FUZZ_N segments
#                   or calls each (1000000), on that kernel, then kmemleak
#   make vm         interactive shell in the test VM with ktp.ko loaded
#   make bench      KTP against Linux TCP in the VM, then between two VMs
#                   (virtio-net), as ratios
#   make deps       install prerequisites from Debian and prepare the VM kit
#   make install    libktp, its headers, ktp.pc, the tools and man pages
#                   (PREFIX=/usr/local, DESTDIR= honoured)
#   make KDIR=...   build the module for another kernel tree
#   make module KVER=6.12|newest|<abi>   ktp.ko for a Debian kernel, fetched
#                   with its toolchain, in build/<abi>/ (docs/kernels.md)
#   make check KERNELS="6.1 newest"   the VM suite on those kernels
#   make check-kernels  the VM suite on every supported kernel
#   make check-wire     KTP between two VMs on a virtual wire, 6.1 and the
#                   newest kernel, clean and under netem loss
#   make build-kernels  per kernel: fetched? toolchain? the module's errors
#   make dkms-install   the module into dkms, rebuilt with each new kernel
#   make dkms-check     dkms build against each supported kernel's headers
#
# The VM kit (Debian's stock kernel, unpacked, never installed) and the
# kselftest headers live in $(KTP_CACHE), one directory per kernel ABI.

KTP_CACHE ?= $(HOME)/.cache/ktp
export KTP_CACHE

# Default: the headers of the Debian 6.1 kernel the test VM boots.
KDIR ?= /usr/src/linux-headers-$(shell scripts/deps.sh abi)
KSFT_INC = $(KTP_CACHE)/src/tools/testing/selftests

# The supported kernels (scripts/kernels.sh): Debian 12's 6.1, bookworm-
# backports' 6.12, and the newest Debian ships (trixie-backports). make
# check runs the VM suite on KERNELS; check-kernels and build-kernels on
# all of them unless KERNELS is given on the command line.
ALL_KERNELS = 6.1 6.12 newest
KERNELS ?= 6.1 newest
some-kernels = $(if $(filter command line,$(origin KERNELS)),$(KERNELS),$(ALL_KERNELS))
CHECKPATCH = $(KTP_CACHE)/src/scripts/checkpatch.pl

all: module userspace selftests

deps:
	@scripts/deps.sh vm

deps-build:
	@scripts/deps.sh build

deps-debug:
	@scripts/deps.sh debug

# Each kernel's image, headers and toolchain, into $(KTP_CACHE).
deps-kernels: deps
	@scripts/deps.sh kernels
	scripts/kernels.sh fetch $(some-kernels)

# KVER: a kernel of scripts/kernels.sh, built in build/<abi>/, so that
# module/ktp.ko stays the stock kernel's.
module: deps-build
ifeq ($(KVER),)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
else
	@scripts/deps.sh kernels
	scripts/kernels.sh build $(KVER)
endif

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
	KTP_KERNELS="$(KERNELS)" scripts/check.sh

check-kernels: deps all
	@scripts/deps.sh kernels
	KTP_KERNELS="$(some-kernels)" scripts/check.sh --vm-only

# Two VMs, Debian's 6.1 and the newest kernel, each with its ktp.ko,
# joined by a virtio-net wire; scripts/wire-test.sh builds the newest
# kernel's module when it is missing or out of date.
check-wire: deps all
	@scripts/deps.sh kernels
	scripts/wire-test.sh

# BOOT=1 boots each kernel too.
build-kernels: deps
	@scripts/deps.sh kernels
	scripts/build-kernels.sh $(if $(BOOT),-b) $(some-kernels)

# dkms.conf's tree in /usr/src/ktp-<version>, added, built and installed
# for KVER (a kernel release; default: the running kernel) by Debian's dkms.
dkms-install:
	@scripts/deps.sh dkms
	scripts/dkms.sh install $(KVER)

# dkms build against each kernel's headers, in a scratch dkms tree.
dkms-check: deps
	@scripts/deps.sh kernels
	@scripts/deps.sh dkms
	scripts/dkms.sh test $(some-kernels)

# The debug kernel and a ktp.ko for it are built by the script, in the
# cache and a scratch copy; KTP_PLANT=uaf|leak plants a bug it must catch.
check-debug: deps-debug userspace selftests
	KTP_PLANT="$(KTP_PLANT)" scripts/check-debug.sh

# Each selftests/out/ktp_fuzz_* in a check-debug VM of its own, the VMs
# at once (scripts/fuzz.sh): the fuzzer with -n KTP_FUZZ_N, then kmemleak
# before and after rmmod. A fuzzer gets 240 s and a second for every 50
# segments or calls (-t), ten minutes more before it counts as hung.
KTP_FUZZ_N ?= 1000000
fuzz: deps-debug userspace selftests
	KTP_FUZZ_N="$(KTP_FUZZ_N)" scripts/fuzz.sh

demo: deps all
	scripts/demo.sh

# KTP against Linux TCP in the VM, interleaved, then between two VMs on
# the virtio-net wire (scripts/wire-test.sh bench); docs/performance.md
bench: deps all
	@scripts/deps.sh kernels
	scripts/bench.sh
	scripts/wire-test.sh bench

vm: deps all
	scripts/vm.sh -i

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests KSFT_INC=none clean
	$(MAKE) -C userspace/tests clean
	rm -rf build

.PHONY: all deps deps-build deps-debug deps-kernels module userspace \
	install selftests sparse checkpatch check check-kernels check-wire \
	build-kernels dkms-install dkms-check check-debug fuzz demo bench vm \
	clean
