#include <iostream>

#include "cvtpm/launch/cli.h"

int main(int argc, char** argv) {
  return cvtpm::launch::run_cli(argc, argv, std::cout, std::cerr);
}
