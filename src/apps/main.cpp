// The seekforge command-line program: one subcommand per job, each a thin call into the library.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::printf("usage: seekforge <command> [options]\n");
    return argc < 2 ? 1 : 0;
  }
  std::fprintf(stderr, "seekforge: unknown command '%s'\n", argv[1]);
  return 2;
}
