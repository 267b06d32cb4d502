#include <iostream>

#include "cvtpm/measure/cli.h"

int main(int argc, char** argv) {
  return cvtpm::measure::run_cli(argc, argv, std::cout, std::cerr);
}
