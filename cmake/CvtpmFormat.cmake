# format / format-check: clang-format over every C and C++ file the project owns.

find_program(CLANG_FORMAT_EXE NAMES clang-format clang-format-14)

if(CLANG_FORMAT_EXE)
  set(_format_script "${PROJECT_SOURCE_DIR}/scripts/format.sh")
  add_custom_target(format
    COMMAND "${_format_script}" --fix
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    COMMENT "clang-format: rewriting sources" VERBATIM)
  add_custom_target(format-check
    COMMAND "${_format_script}" --check
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    COMMENT "clang-format: checking sources" VERBATIM)
else()
  message(WARNING "clang-format not found: format and format-check targets are unavailable")
endif()
