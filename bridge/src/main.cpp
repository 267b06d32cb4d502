#include <iostream>

#include "cvtpm/bridge/cli.h"

int main(int argc, char** argv) {
  return cvtpm::bridge::run_cli(argc, argv, std::cout, std::cerr);
}
