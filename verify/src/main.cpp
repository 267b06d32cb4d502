#include <iostream>

#include "cvtpm/verify/cli.h"

int main(int argc, char** argv) {
  return cvtpm::verify::run_cli(argc, argv, std::cout, std::cerr);
}
