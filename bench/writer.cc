// writer BYTES [CHUNK]: writes BYTES of text lines to stdout in CHUNK-byte write()s (default
// 65536), then the line "WARDEN-BENCH-END", and exits 0. The log-capture workload's program.
// With $BENCH_WRITER_STATS set, it appends "seconds user_s sys_s voluntary involuntary"
// (its own view: wall time, CPU, context switches) to that file.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static bool WriteAll(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: writer BYTES [CHUNK]\n");
    return 2;
  }
  timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long long total = strtoull(argv[1], nullptr, 10);
  size_t chunk = argc > 2 ? strtoul(argv[2], nullptr, 10) : 65536;
  std::vector<char> buf(chunk);
  for (size_t i = 0; i < chunk; ++i) buf[i] = (i % 64 == 63) ? '\n' : char('a' + i % 26);
  while (total > 0) {
    size_t n = total < chunk ? size_t(total) : chunk;
    if (!WriteAll(buf.data(), n)) return 1;
    total -= n;
  }
  const char end[] = "\nWARDEN-BENCH-END\n";
  if (!WriteAll(end, sizeof end - 1)) return 1;
  if (const char* stats = getenv("BENCH_WRITER_STATS")) {
    timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (FILE* f = fopen(stats, "a")) {
      fprintf(f, "%.3f %.3f %.3f %ld %ld\n",
              double(t1.tv_sec - t0.tv_sec) + double(t1.tv_nsec - t0.tv_nsec) / 1e9,
              double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6,
              double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6, ru.ru_nvcsw,
              ru.ru_nivcsw);
      fclose(f);
    }
  }
  return 0;
}
