# pylocks.py MODE - CPython lock scenarios for tests/test_locklibs.c, run by
# python3 under the preload.  Threads run one after the other: nothing here
# ever deadlocks, the checker must predict it.  Prints "done" last.
import sys
import threading
import time

mode = sys.argv[1]


def run(target, *args):
    t = threading.Thread(target=target, args=args)
    t.start()
    t.join()


def take(first, second):
    with first:
        with second:
            pass


def settle(lock):
    """Wait, with no lock operation, until another thread released lock."""
    while lock.locked():
        time.sleep(0.005)


if mode in ('bug', 'clean', 'rlock-bug', 'rlock-clean'):
    # two locks, taken in opposite orders (bug) or one order (clean)
    make = threading.RLock if mode.startswith('rlock') else threading.Lock
    a = make()
    b = make()
    run(take, a, b)
    run(take, *((b, a) if mode.endswith('bug') else (a, b)))

elif mode == 'handoff':
    # a Lock taken by a thread that ends, released by another: legal
    a = threading.Lock()
    run(a.acquire)
    a.release()

elif mode == 'zero-wait':
    # Event.wait(0): the Condition's waiter taken, tried again, dropped
    import _thread
    ev = threading.Event()
    n = []

    def f():
        ev.wait(0.0)
        ev.wait(0.05)
        n.append(1)
    for i in range(3):
        _thread.start_new_thread(f, ())
    while len(n) < 3:
        time.sleep(0.01)

elif mode == 'join':
    # The thread-state lock: each thread takes its own at its start and the
    # interpreter releases it when the thread's state goes; join() waits for
    # it.  Here the main thread holds `a` while it sets the event the thread
    # waits for, and while it joins the thread: no deadlock (the thread
    # needs nothing the main thread holds), and no finding.
    a = threading.Lock()
    ev = threading.Event()
    t = threading.Thread(target=ev.wait)
    t.start()
    with a:
        time.sleep(0.05)
        ev.set()
        t.join()

elif mode == 'repr-stopped':
    # test_threading's test_repr_stopped: `started` released by the thread
    # while the main thread holds it, the main thread waiting on a
    # Condition (whose owner check tries its lock again) holding `finish`,
    # and the woken waiter freed while still taken
    import _thread
    started = _thread.allocate_lock()
    finish = _thread.allocate_lock()
    started.acquire()
    finish.acquire()

    def f():
        started.release()
        finish.acquire()
    t = threading.Thread(target=f)
    t.start()
    started.acquire()
    finish.release()
    t.join()

elif mode == 'stale':
    # a thread takes `l` under `x`; then `l` is released by another thread
    # while the main thread holds it, and the main thread takes `x` without
    # touching `l` again: it holds `l` no more, no inversion
    l = threading.Lock()
    x = threading.Lock()
    run(take, x, l)
    l.acquire()
    _t = threading.Thread(target=l.release)
    _t.start()
    settle(l)
    with x:
        pass
    _t.join()

elif mode == 'blocked':
    # a thread blocked for `c` had pushed it when the main thread, which
    # holds `c`, waits for it again (`c` an event from there); woken, the
    # thread takes `x`, after another thread took `c` under `x`: it does
    # not hold `c` as a lock, no inversion
    c = threading.Lock()
    x = threading.Lock()
    run(take, x, c)
    c.acquire()

    def b():
        c.acquire()
        with x:
            pass

    def z():
        time.sleep(0.2)
        c.release()
        while not c.locked():
            time.sleep(0.005)
        c.release()
    tb = threading.Thread(target=b)
    tb.start()
    time.sleep(0.2)
    tz = threading.Thread(target=z)
    tz.start()
    c.acquire()
    tb.join()
    tz.join()

elif mode == 'freed':
    # `l` released by another thread, then freed by the main thread that
    # took it, with no lock operation in between
    l = threading.Lock()
    x = threading.Lock()
    l.acquire()
    _t = threading.Thread(target=l.release)
    _t.start()
    settle(l)
    del l
    _t.join()

else:
    sys.exit('pylocks.py: unknown mode ' + mode)

print('done')
