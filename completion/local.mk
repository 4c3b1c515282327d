# bash completion for the fencedep command, where bash-completion looks
# for it under the prefix (configure --with-bash-completion-dir=DIR to
# put it elsewhere, e.g. the directory of `pkg-config --variable=
# completionsdir bash-completion`).
bashcompletion_DATA = completion/fencedep
EXTRA_DIST += completion/fencedep.bash
CLEANFILES += completion/fencedep
completion/fencedep: $(srcdir)/completion/fencedep.bash
	$(AM_V_GEN)mkdir -p completion && cp $(srcdir)/completion/fencedep.bash $@
