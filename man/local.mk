# man/: the manual.
# fencedep.1 is generated from fencedep.1.in: its "@OPTIONS@" marker line is
# replaced by the option list made from the runtime's options table, and its
# "@REPORT@" marker line by the REPORT section (the generation rule is added
# separately).  fencedep.3 (the API) and fencedep.7 (the model) are sources.
dist_man_MANS += man/fencedep.3 man/fencedep.7
EXTRA_DIST += man/fencedep.1.in

# fencedep(1): the option list comes from src/runtime/options.def through the
# built command, the REPORT section from man/report-section.roff.
man_MANS += man/fencedep.1
CLEANFILES += man/fencedep.1
EXTRA_DIST += man/report-section.roff
man/fencedep.1: $(srcdir)/man/fencedep.1.in $(srcdir)/man/report-section.roff src/cli/fencedep$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) man && src/cli/fencedep --print-man-options > man/options.roff.tmp && \
	sed -e '/^\.\\" @OPTIONS@$$/{r man/options.roff.tmp' -e 'd;}' \
	    -e '/^\.\\" @REPORT@$$/{r $(srcdir)/man/report-section.roff' -e 'd;}' \
	    $(srcdir)/man/fencedep.1.in > $@.tmp && rm -f man/options.roff.tmp && mv $@.tmp $@
