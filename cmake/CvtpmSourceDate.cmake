# CVTPM_SOURCE_DATE_EPOCH: the one time stamp generated files may carry (man pages, the package's
# changelog, file times inside the .deb), so that the same source gives the same bytes
# (https://reproducible-builds.org/specs/source-date-epoch/). Taken from the environment's
# SOURCE_DATE_EPOCH if set, else the date of the commit checked out, else 0.
#
# The commit date changes with every commit: configuration re-runs when HEAD moves (the reflog of
# HEAD is a configure dependency).

if(DEFINED ENV{SOURCE_DATE_EPOCH} AND NOT "$ENV{SOURCE_DATE_EPOCH}" STREQUAL "")
  set(CVTPM_SOURCE_DATE_EPOCH "$ENV{SOURCE_DATE_EPOCH}")
else()
  find_package(Git QUIET)
  set(CVTPM_SOURCE_DATE_EPOCH "")
  if(GIT_FOUND)
    execute_process(COMMAND "${GIT_EXECUTABLE}" log -1 --format=%ct
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE CVTPM_SOURCE_DATE_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _git_status ERROR_QUIET)
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --absolute-git-dir
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE _git_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(NOT _git_status EQUAL 0)
      set(CVTPM_SOURCE_DATE_EPOCH "")
    elseif(EXISTS "${_git_dir}/logs/HEAD")
      set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                   "${_git_dir}/logs/HEAD")
    endif()
  endif()
  if(CVTPM_SOURCE_DATE_EPOCH STREQUAL "")
    message(WARNING "No SOURCE_DATE_EPOCH and no git commit: generated files are dated 0 (1970)")
    set(CVTPM_SOURCE_DATE_EPOCH 0)
  endif()
endif()
if(NOT CVTPM_SOURCE_DATE_EPOCH MATCHES "^[0-9]+$")
  message(FATAL_ERROR "SOURCE_DATE_EPOCH '${CVTPM_SOURCE_DATE_EPOCH}' is not a number of seconds")
endif()
