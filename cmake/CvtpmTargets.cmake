# Shared compile settings for the project's own (hosted) targets.

set(CVTPM_WARNINGS -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)

if(CVTPM_SANITIZE)
  set(CVTPM_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
                            -fno-omit-frame-pointer)
  add_compile_options(${CVTPM_SANITIZER_FLAGS})
  add_link_options(${CVTPM_SANITIZER_FLAGS})
endif()

# No host paths in what the project builds: __FILE__, which OpenSSL's allocation and error
# macros expand in our code (OPENSSL_FILE), names sources relative to the source tree. Without
# this the tools carried the checkout's absolute path, and two checkouts built different bytes.
set(CVTPM_PATH_FLAGS "-fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=")

# cvtpm_target_defaults(<target>): warnings as errors and no host paths for project code.
function(cvtpm_target_defaults target)
  target_compile_options(${target} PRIVATE ${CVTPM_WARNINGS} ${CVTPM_PATH_FLAGS})
endfunction()

# cvtpm_add_freestanding_objects(<name> SOURCES ...): the firmware's build of sources that are
# also built hosted (the vTPM core, the SNP platform): an OBJECT library with the bare-metal
# language subset, linked into cvtpm-fw.elf and checked for undefined symbols by the tests.
# Sanitizer instrumentation cannot run bare-metal: callers skip it in sanitizer builds.
function(cvtpm_add_freestanding_objects name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  set(flags -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -mno-red-zone
            -fno-pic -fno-pie -fno-stack-protector -nostdlib)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    list(APPEND flags -Wno-unused-command-line-argument)  # -nostdlib
  endif()
  add_library(${name} OBJECT ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${flags})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
  cvtpm_target_defaults(${name})
endfunction()

# cvtpm_add_tool(<name> SUMMARY <line> SOURCES ... LIBS ...): a thin main over a library, placed
# in build/bin and installed in bin/; SUMMARY is the NAME line of its manual page (CvtpmInstall).
function(cvtpm_add_tool name)
  cmake_parse_arguments(ARG "" "SUMMARY" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SUMMARY)
    message(FATAL_ERROR "cvtpm_add_tool(${name}): SUMMARY missing (its manual page's NAME line)")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  cvtpm_target_defaults(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CVTPM_BIN_DIR}")
  if(CVTPM_STATIC_TOOLS)
    # libcrypto.a mentions dlopen and getaddrinfo; the tools never reach them, so glibc's
    # warnings about static use of those are expected.
    target_link_options(${name} PRIVATE -static)
  endif()
  install(TARGETS ${name} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
  set_property(GLOBAL APPEND PROPERTY CVTPM_TOOLS ${name})
  set_property(TARGET ${name} PROPERTY CVTPM_SUMMARY "${ARG_SUMMARY}")
endfunction()

# cvtpm_add_fuzzer(<name> SOURCE <file> LIBS ... CORPUS <dir>):
# - always builds <name>-replay, which runs the fuzz entry point over every file of the seed
#   corpus (registered as a test, so the ASan/UBSan preset exercises every parser on it);
# - with CVTPM_FUZZ (clang) also builds the libFuzzer binary <name> and a short bounded fuzz run.
function(cvtpm_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SOURCE;CORPUS" "LIBS" ${ARGN})
  add_executable(${name}-replay ${ARG_SOURCE} "${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp")
  target_link_libraries(${name}-replay PRIVATE ${ARG_LIBS})
  cvtpm_target_defaults(${name}-replay)
  add_test(NAME fuzz-replay.${name} COMMAND ${name}-replay "${ARG_CORPUS}")
  set_tests_properties(fuzz-replay.${name} PROPERTIES LABELS "fuzz")
  if(CVTPM_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR "CVTPM_FUZZ=ON needs clang (libFuzzer); use the 'asan' preset")
    endif()
    add_executable(${name} ${ARG_SOURCE})
    target_link_libraries(${name} PRIVATE ${ARG_LIBS})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    cvtpm_target_defaults(${name})
    # A short, bounded run from a copy of the seed corpus: new inputs never land in the source tree.
    set(work "${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus")
    add_test(NAME fuzz-run.${name}
             COMMAND "${PROJECT_SOURCE_DIR}/tests/fuzz/run_fuzzer.sh" $<TARGET_FILE:${name}>
                     "${ARG_CORPUS}" "${work}")
    set_tests_properties(fuzz-run.${name} PROPERTIES LABELS "fuzz" TIMEOUT 120)
  endif()
endfunction()
