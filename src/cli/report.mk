REPORT_SOURCES = src/cli/report.c src/cli/report.h src/cli/json.c src/cli/json.h \
	src/cli/kinds.c src/cli/kinds.h src/cli/merge.c src/cli/render.h \
	src/cli/render_dot.c src/cli/render_html.c src/cli/render_json.c \
	src/cli/render_sarif.c src/cli/render_text.c src/cli/report_gate.c \
	src/cli/report_model.h src/cli/report_read.c src/cli/strtab.c src/cli/strtab.h \
	src/runtime/fingerprint.c src/runtime/suppress.c
