#include <iostream>

#include "cvtpm/vtpm_host/daemon.h"

int main(int argc, char** argv) {
  return cvtpm::vtpm::host::run_cli(argc, argv, std::cout, std::cerr);
}
