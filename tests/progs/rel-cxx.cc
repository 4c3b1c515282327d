/*
 * rel-cxx - the C++ standard library's locks:
 *
 *   rel-cxx bug     std::mutex a then b (std::lock_guard) in one thread,
 *                   b then a (std::unique_lock) in the next
 *   rel-cxx clean   a producer and two consumers over a queue guarded by a
 *                   std::mutex with a std::condition_variable, and readers
 *                   and a writer of a std::shared_mutex
 */
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

static std::mutex a, b;

static void bug()
{
	std::thread t1([] {
		std::lock_guard<std::mutex> ga(a);
		std::lock_guard<std::mutex> gb(b);
	});
	t1.join();
	std::thread t2([] {
		std::unique_lock<std::mutex> ub(b);
		std::unique_lock<std::mutex> ua(a);
	});
	t2.join();
	std::puts("done");
}

static void clean()
{
	std::mutex m;
	std::condition_variable cv;
	std::deque<std::string> q;
	bool finished = false;
	long consumed = 0;
	std::shared_mutex table_lock;
	std::vector<int> table(16, 0);

	std::vector<std::thread> consumers;
	for (int c = 0; c < 2; c++)
		consumers.emplace_back([&] {
			for (;;) {
				std::unique_lock<std::mutex> lk(m);
				cv.wait(lk, [&] { return finished || !q.empty(); });
				if (q.empty())
					return;
				std::string s = std::move(q.front());
				q.pop_front();
				consumed += (long)s.size();
				lk.unlock();
				std::shared_lock<std::shared_mutex> rl(table_lock);
				(void)table[s.size() % 16];
			}
		});
	for (int i = 0; i < 20000; i++) {
		{
			std::lock_guard<std::mutex> g(m);
			q.push_back(std::string((size_t)(i % 50 + 1), 'x'));
		}
		cv.notify_one();
		if (i % 100 == 0) {
			std::unique_lock<std::shared_mutex> wl(table_lock);
			table[i % 16]++;
		}
	}
	{
		std::lock_guard<std::mutex> g(m);
		finished = true;
	}
	cv.notify_all();
	for (auto &t : consumers)
		t.join();
	std::printf("consumed %ld\n", consumed);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !std::strcmp(argv[1], "bug"))
		bug();
	else if (argc == 2 && !std::strcmp(argv[1], "clean"))
		clean();
	else {
		std::fprintf(stderr, "usage: rel-cxx bug|clean\n");
		return 2;
	}
	return 0;
}
