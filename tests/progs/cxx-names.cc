/*
 * cxx-names - a C++ program whose report must read as C++: two std::mutex
 * members of a class in a namespace, taken in opposite orders by two of
 * its methods (one in a thread, then the other), and a static std::mutex
 * in the namespace taken under one of them.  The classes of the member
 * mutexes (never initialised by a call) are named after the methods that
 * first lock them, not after __gthread_mutex_lock; the frames show
 * demangled names.  Built as the project is (-O2): std::mutex::lock()
 * and the methods are inlined, and the frames are still the methods'.
 */
#include <cstdio>
#include <mutex>
#include <thread>

namespace bank {

std::mutex registry_lock;

class Account {
public:
	std::mutex m;
	long balance = 0;
};

class Ledger {
public:
	Account from, to;

	void debit_then_credit()
	{
		std::lock_guard<std::mutex> g1(from.m);
		std::lock_guard<std::mutex> g2(to.m);
		std::lock_guard<std::mutex> g3(registry_lock);
		to.balance++;
	}

	void credit_then_debit()
	{
		std::lock_guard<std::mutex> g1(to.m);
		std::lock_guard<std::mutex> g2(from.m);
		from.balance++;
	}
};

} // namespace bank

int main()
{
	bank::Ledger ledger;
	std::thread t([&] { ledger.debit_then_credit(); });
	t.join();
	ledger.credit_then_debit();
	std::printf("%ld %ld\n", ledger.from.balance, ledger.to.balance);
	return 0;
}
