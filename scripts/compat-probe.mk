# SPDX-License-Identifier: GPL-2.0
#
# Included at the end of module/Kbuild: $(obj)/compat_probe.h, the HAVE_*
# macros of scripts/compat-probe.sh's test compiles against the tree being
# built for, made before any of the module's objects. if_changed runs the
# probes again when the script changes or the compiler's command line does
# (another KDIR); otherwise the header is kept and nothing is rebuilt.
compat-probe := $(src)/../scripts/compat-probe.sh

targets += compat_probe.h
clean-files += compat_probe.h

quiet_cmd_compat_probe = PROBE   $@
      cmd_compat_probe = $(CONFIG_SHELL) $(compat-probe) $@ $(CC) \
	$(NOSTDINC_FLAGS) $(LINUXINCLUDE) \
	-include $(srctree)/include/linux/compiler_types.h \
	$(KBUILD_CPPFLAGS) $(KBUILD_CFLAGS) $(KBUILD_CFLAGS_MODULE) -DMODULE

$(obj)/compat_probe.h: $(compat-probe) FORCE
	$(call if_changed,compat_probe)

$(addprefix $(obj)/,$(ktp-y) $(ktp-m)): $(obj)/compat_probe.h
