#include <iostream>

#include "cvtpm/igvmgen/cli.h"

int main(int argc, char** argv) {
  return cvtpm::igvmgen::run_cli(argc, argv, std::cout, std::cerr);
}
