/*
 * test_graph.c - the dependency graph: lockdep's reader/writer rules, trylock,
 * subclass, nest lock, gate lock, shortest cycle, the chain cache, long
 * cycles.  Scenarios run in one thread, one after the other: an edge is an
 * edge whichever thread makes it.
 */
#include <criterion/criterion.h>

#include "script.h"


#define LOI "lock-order-inversion"

Test(graph, abba_reports_lock_order_inversion)
{
	expect("+A +B -B -A +B +A -A -B", LOI, 1);
}

Test(graph, same_order_twice_is_silent)
{
	expect("+A +B -B -A +A +B -B -A", LOI, 0);
}

/*
 * Two-lock cycles A->B then B->A, each side with its own modes, with the
 * verdicts of lockdep-design.rst ("Recursive read locks"): r recursive
 * reader, s non-recursive reader, plain = writer.
 */
Test(graph, writer_writer_cycle_EN_EN_is_deadlock)
{
	expect("+A +B -B -A +B +A -A -B", LOI, 1);
}

Test(graph, two_recursive_readers_SR_SR_are_no_deadlock)
{
	expect("+A:r +B:r -B -A +B:r +A:r -A -B", LOI, 0);
}

Test(graph, non_recursive_readers_SN_SN_are_deadlock)
{
	expect("+A:s +B:s -B -A +B:s +A:s -A -B", LOI, 1);
}

Test(graph, reader_then_writer_against_writer_then_recursive_reader_SN_ER_is_no_deadlock)
{
	expect("+A:r +B -B -A +B +A:r -A -B", LOI, 0);
}

Test(graph, writer_then_recursive_reader_against_writers_ER_EN_is_deadlock)
{
	expect("+A +B:r -B -A +B +A -A -B", LOI, 1);
}

Test(graph, recursive_reader_holder_against_writers_SN_EN_is_deadlock)
{
	expect("+A:r +B -B -A +B +A -A -B", LOI, 1);
}

Test(graph, writer_recursive_reader_against_reader_recursive_reader_ER_SR_is_no_deadlock)
{
	expect("+A +B:r -B -A +B:r +A:r -A -B", LOI, 0);
}

Test(graph, shared_reader_holder_against_writer_SN_EN_is_deadlock)
{
	expect("+A:s +B -B -A +B +A:s -A -B", LOI, 1);
}

Test(graph, recursive_reader_cycle_closed_by_writer_is_deadlock)
{
	/* A -(SR)-> B -(EN)-> A: the writer of A waits for the reader */
	expect("+A:r +B:r -B -A +B +A -A -B", LOI, 1);
}

Test(graph, trylock_in_reverse_order_is_silent)
{
	expect("+A +B -B -A +B +A:t -A -B", LOI, 0);
}

Test(graph, blocking_lock_under_a_trylock_adds_an_edge)
{
	/* B was trylocked, but A taken under it is a real dependency B -> A */
	expect("+A +B -B -A +B:t +A -A -B", LOI, 1);
}

Test(graph, same_class_twice_is_recursive_locking)
{
	expect("+x=A +y=A -y -x", "recursive-locking", 1);
}

Test(graph, same_class_with_subclass_is_silent)
{
	expect("+x=A +y=A:1 -y -x", "recursive-locking", 0);
}

Test(graph, subclass_order_is_checked_like_any_class)
{
	expect("+x=A +y=A:1 -y -x +y=A:1 +x=A -x -y", LOI, 1);
}

/* Class names made by hand (name_cat): "name/subclass", and the class of a
 * ww acquire context, "<ww class>_acquire", both named in the report (a
 * second context of one class in a thread is reported under the latter). */
Test(graph, built_class_names_reach_the_report)
{
	struct harness_run r = script("+x=A +y=A:12 -y -x +y=A:12 +x=A -x -y");

	cr_assert_eq(harness_count(r.json, LOI), 1, "%s", r.log);
	cr_expect(strstr(r.json, "\"A/12\"") != NULL, "A/12 named in\n%s", r.json);
	harness_free(&r);

	r = script("ww_init:C:reservation_ww_class ww_init:D:reservation_ww_class ww_fini:D "
		   "ww_fini:C");
	cr_assert_eq(harness_count(r.json, "ww-protocol-violation"), 1, "%s", r.log);
	cr_expect(strstr(r.json, "\"reservation_ww_class_acquire\"") != NULL, "%s", r.json);
	harness_free(&r);
}

Test(graph, same_class_under_nest_lock_is_silent)
{
	expect("+N +x=A@N +y=A@N -y -x -N", "recursive-locking", 0);
}

Test(graph, cycle_under_common_gate_lock_is_silent)
{
	expect("+G +A +B -B -A -G +G +B +A -A -B -G", LOI, 0);
}

Test(graph, cycle_under_gate_lock_is_reported_when_gates_are_off)
{
	struct harness_run r = script_opts(1, "gate_locks=0", "+G +A +B -B -A -G +G +B +A -A -B -G");

	cr_expect_eq(harness_count(r.json, LOI), 1);
	harness_free(&r);
}

Test(graph, cycle_with_gate_on_one_side_only_is_reported)
{
	expect("+G +A +B -B -A -G +B +A -A -B", LOI, 1);
}

Test(graph, shortest_cycle_is_reported)
{
	/* D -> A closes both D A B D (3 edges) and D A B C D (4 edges) */
	struct harness_run r = script("+A +B -B -A +B +C -C -B +C +D -D -C +B +D -D -B +D +A -A -D");

	cr_expect_eq(harness_count(r.json, LOI), 1);
	cr_expect(strstr(r.log, "the cycle (3 edges)") != NULL, "%s", r.log);
	harness_free(&r);
}

Test(graph, chain_cache_hits_repeated_chains)
{
	char s[8192] = "";

	for (int i = 0; i < 100; i++)
		strcat(s, "+A +B -B -A ");
	/* a report is written when something is found: end with an inversion */
	strcat(s, "+B +A -A -B");
	struct harness_run r = script(s);
	long hits = json_stat(r.json, "chain_hits"), chains = json_stat(r.json, "chains");
	cr_expect_geq(hits, 198, "chain hits %ld", hits);
	cr_expect_leq(chains, 8, "chains %ld", chains);
	harness_free(&r);
}

/*
 * L0 -> L1 -> ... -> Ln-1, closed by Ln-1 -> L0 when close is set.  With
 * reversed, the classes are first seen in reverse order, so that every edge
 * of the chain goes backward in the topological order and is repaired.
 */
static void ring_run(int n, bool close, bool reversed)
{
	char s[65536] = "", step[64];

	for (int i = n - 1; reversed && i >= 0; i--) {
		snprintf(step, sizeof(step), "+L%d -L%d ", i, i);
		strcat(s, step);
	}
	for (int i = 0; i + 1 < n; i++) {
		snprintf(step, sizeof(step), "+L%d +L%d -L%d -L%d ", i, i + 1, i + 1, i);
		strcat(s, step);
	}
	if (close) {
		snprintf(step, sizeof(step), "+L%d +L0 -L0 -L%d", n - 1, n - 1);
		strcat(s, step);
	}
	struct harness_run r = script(s);
	char want[64];
	snprintf(want, sizeof(want), "the cycle (%d edges)", n);
	cr_expect_eq(harness_count(r.json, LOI), close ? 1 : 0, "%d-lock ring\n%s", n, r.log);
	if (close)
		cr_expect(strstr(r.log, want) != NULL, "%s", r.log);
	harness_free(&r);
}

#define ring(n, close) ring_run((n), (close), false)
#define ring_reversed(n, close) ring_run((n), (close), true)

Test(graph, three_lock_cycle_is_reported)
{
	ring(3, true);
}

Test(graph, ten_lock_cycle_is_reported)
{
	ring(10, true);
}

Test(graph, forty_lock_cycle_is_reported)
{
	ring(40, true);
}

Test(graph, forty_lock_chain_without_closing_edge_is_silent)
{
	ring(40, false);
}

Test(graph, cycle_is_found_after_the_order_is_repaired)
{
	ring_reversed(20, true);
}

Test(graph, chain_against_creation_order_is_silent)
{
	ring_reversed(20, false);
}

Test(graph, diamond_built_backwards_then_closed_is_reported)
{
	/* D, C, B, A first seen in that order; A->B, A->C, B->D, C->D; then D->A */
	expect("+D -D +C -C +B -B +A -A +A +B -B -A +A +C -C -A +B +D -D -B +C +D -D -C +D +A -A -D",
	       LOI, 1);
}

Test(graph, later_cycle_through_a_reported_edge_is_not_reported_again)
{
	/* B->A closed the first cycle; C->B, A->C make one more through B->A */
	expect("+A +B -B -A +B +A -A -B +C +B -B -C +A +C -C -A", LOI, 1);
}

Test(graph, independent_cycles_are_each_reported)
{
	expect("+A +B -B -A +B +A -A -B +X +Y -Y -X +Y +X -X -Y", LOI, 2);
}
