/*
 * sqlite-threads.c - a threaded SQLite client for bench/real: THREADS
 * threads, each with a connection of its own to a database file of its own
 * (DBFILE.N, WAL mode), plus one connection to DBFILE shared by all of them
 * (SQLite's serialized mode: its mutex is taken on every call, and
 * contended).  Each thread runs ROUNDS transactions of four inserts on its
 * own connection, then an insert and a query on the shared one.  No two
 * connections write one file, so no thread sleeps in a busy handler: the
 * time is the engine's and its locks'.  Prints the row counts, which do not
 * depend on the schedule, so native and checked runs print the same.
 *
 * usage: sqlite-threads DBFILE [THREADS [ROUNDS]]
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static const char *db_path;
static sqlite3 *shared;
static int rounds = 400;
static sqlite3_int64 rows[64];

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite-threads: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite-threads: %s: %s\n", sql, err ? err : "?");
		exit(1);
	}
}

static sqlite3 *open_db(const char *path, int flags)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | flags, NULL) !=
	    SQLITE_OK)
		die(db, path);
	sqlite3_busy_timeout(db, 60000);
	/* the commits measure locking and the engine, not the disk */
	exec(db, "PRAGMA synchronous=OFF");
	return db;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *ins, *sel, *log;

	snprintf(path, sizeof(path), "%s.%ld", db_path, id);
	db = open_db(path, SQLITE_OPEN_NOMUTEX);
	exec(db, "PRAGMA journal_mode=WAL");
	exec(db, "DROP TABLE IF EXISTS t");
	exec(db, "CREATE TABLE t(thread INTEGER, n INTEGER, payload TEXT)");
	exec(db, "CREATE INDEX t_n ON t(n)");
	if (sqlite3_prepare_v2(shared, "INSERT INTO progress(thread, round) VALUES (?, ?)", -1, &log,
			       NULL) != SQLITE_OK)
		die(shared, "prepare progress");
	if (sqlite3_prepare_v2(db, "INSERT INTO t(thread, n, payload) VALUES (?, ?, ?)", -1, &ins,
			       NULL) != SQLITE_OK)
		die(db, "prepare insert");
	if (sqlite3_prepare_v2(shared, "SELECT count(*), max(round) FROM progress WHERE thread = ?", -1, &sel,
			       NULL) != SQLITE_OK)
		die(shared, "prepare select");
	for (int r = 0; r < rounds; r++) {
		char payload[64];

		exec(db, "BEGIN IMMEDIATE");
		for (int k = 0; k < 4; k++) {
			snprintf(payload, sizeof(payload), "thread %ld round %d row %d", id, r, k);
			sqlite3_bind_int64(ins, 1, id);
			sqlite3_bind_int64(ins, 2, (sqlite3_int64)r * 4 + k);
			sqlite3_bind_text(ins, 3, payload, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die(db, "insert");
			sqlite3_reset(ins);
		}
		exec(db, "COMMIT");
		sqlite3_bind_int64(log, 1, id);
		sqlite3_bind_int64(log, 2, r);
		if (sqlite3_step(log) != SQLITE_DONE)
			die(shared, "insert progress");
		sqlite3_reset(log);
		sqlite3_bind_int64(sel, 1, id);
		while (sqlite3_step(sel) == SQLITE_ROW)
			;
		sqlite3_reset(sel);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	sqlite3_finalize(log);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_step(ins) != SQLITE_ROW)
		die(db, "count");
	rows[id] = sqlite3_column_int64(ins, 0);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = 4;
	pthread_t tid[64];
	sqlite3_stmt *count;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: sqlite-threads DBFILE [THREADS [ROUNDS]]\n");
		return 2;
	}
	db_path = argv[1];
	if (argc > 2)
		nthreads = atoi(argv[2]);
	if (argc > 3)
		rounds = atoi(argv[3]);
	if (nthreads < 1 || nthreads > 64 || rounds < 1) {
		fprintf(stderr, "sqlite-threads: THREADS must be 1..64 and ROUNDS positive\n");
		return 2;
	}
	shared = open_db(db_path, SQLITE_OPEN_FULLMUTEX);
	exec(shared, "PRAGMA journal_mode=WAL");
	exec(shared, "DROP TABLE IF EXISTS progress");
	exec(shared, "CREATE TABLE progress(thread INTEGER, round INTEGER)");
	exec(shared, "CREATE INDEX progress_thread ON progress(thread, round)");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, worker, (void *)i)) {
			fprintf(stderr, "sqlite-threads: cannot create a thread\n");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	if (sqlite3_prepare_v2(shared, "SELECT count(*) FROM progress", -1, &count, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(count) != SQLITE_ROW)
		die(shared, "count");
	sqlite3_int64 total = 0;
	for (int i = 0; i < nthreads; i++)
		total += rows[i];
	printf("rows=%lld progress=%lld\n", (long long)total, (long long)sqlite3_column_int64(count, 0));
	sqlite3_finalize(count);
	sqlite3_close(shared);
	return 0;
}
