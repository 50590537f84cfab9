"""Requests per second (one keep-alive client, then 8 concurrent), RSS and idle context
switches of a hello server: python3 measure.py PORT PID."""
import http.client, sys, threading, time

port, pid = int(sys.argv[1]), int(sys.argv[2])


def run(n):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(n):
        c.request("GET", "/api/v1/processes")
        c.getresponse().read()
    c.close()


def rate(clients, n):
    t = time.monotonic()
    threads = [threading.Thread(target=run, args=(n,)) for _ in range(clients)]
    [x.start() for x in threads]
    [x.join() for x in threads]
    return clients * n / (time.monotonic() - t)


def switches():
    with open(f"/proc/{pid}/status") as f:
        return sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)


def rss():
    with open(f"/proc/{pid}/status") as f:
        return [l.split()[1] for l in f if l.startswith("VmRSS")][0]


print(f"1 client: {rate(1, 3000):.0f} req/s; 8 clients: {rate(8, 500):.0f} req/s; "
      f"RSS {rss()} kB", end="; ")
import os, glob
before = sum(int(open(f).read().split()[0]) for f in [])
s = {t: None for t in os.listdir(f"/proc/{pid}/task")}
def all_switches():
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/status") as f:
            total += sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)
    return total
a = all_switches(); time.sleep(5); b = all_switches()
print(f"threads {len(os.listdir(f'/proc/{pid}/task'))}; idle wakeups in 5 s: {b - a}")
