# What `cmake --install` puts where (docs/install.md), besides the tools (cvtpm_add_tool) and the
# firmware (vtpm_fw/runtime): manual pages generated from the tools' --help, bash completion,
# documentation and examples, and the Debian copyright, changelog and lintian overrides the .deb
# needs. Paths follow the FHS as Debian applies it (Debian Policy 9.1) under any prefix.

get_property(CVTPM_TOOLS GLOBAL PROPERTY CVTPM_TOOLS)
set(_packaging "${PROJECT_SOURCE_DIR}/packaging")
set(_generated "${CMAKE_BINARY_DIR}/packaging")
file(MAKE_DIRECTORY "${_generated}/man")

# ---------------------------------------------------------------------------------------------
# Manual pages: help2man over each tool's --help and --version, with one section per
# subcommand's --help (packaging/man_page.sh); dated SOURCE_DATE_EPOCH, gzip'ed without a time
# stamp (Debian Policy 12.1: manual pages are installed compressed with gzip -9).
if(CVTPM_MAN_PAGES)  # HELP2MAN_EXECUTABLE: CMakeLists.txt
  set(_man_pages "")
  foreach(tool IN LISTS CVTPM_TOOLS)
    get_property(summary TARGET ${tool} PROPERTY CVTPM_SUMMARY)
    set(page "${_generated}/man/${tool}.1.gz")
    add_custom_command(
      OUTPUT "${page}"
      COMMAND "${CMAKE_COMMAND}" -E env "SOURCE_DATE_EPOCH=${CVTPM_SOURCE_DATE_EPOCH}"
              "HELP2MAN=${HELP2MAN_EXECUTABLE}"
              "${_packaging}/man_page.sh" "$<TARGET_FILE:${tool}>" "${summary}" "${page}"
      DEPENDS ${tool} "${_packaging}/man_page.sh"
      COMMENT "Writing the manual page of ${tool}"
      VERBATIM)
    list(APPEND _man_pages "${page}")
  endforeach()
  add_custom_target(man-pages ALL DEPENDS ${_man_pages})
  install(FILES ${_man_pages} DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
endif()

# ---------------------------------------------------------------------------------------------
# Bash completion: one script, loaded on demand by bash-completion under each command's name
# (bash-completion's README: completions/<command>), so each tool gets a link to it.
set(_completions "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")
install(FILES "${_packaging}/bash-completion/cvtpm" DESTINATION "${_completions}")
foreach(tool IN LISTS CVTPM_TOOLS)
  install(CODE "
    set(_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${_completions}\")
    file(CREATE_LINK cvtpm \"\${_dir}/${tool}\" SYMBOLIC)
    message(STATUS \"Installing: \${_dir}/${tool} -> cvtpm\")")
endforeach()

# ---------------------------------------------------------------------------------------------
# Documentation and examples (share/doc/cvtpm). The examples are documents here: installed
# without the executable bit (Debian Policy 12.6 leaves that to the user).
install(FILES README.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY docs/ DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs" FILES_MATCHING PATTERN "*.md")
install(FILES examples/attest.sh examples/launch.json examples/quickstart.sh
              examples/reference-values.sh
        DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples")
install(FILES "${_packaging}/copyright" DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# The package's maintainer, in the changelog and the .deb's control file (CvtpmPackage.cmake): a
# placeholder until the project has an address (docs/install.md, "The .deb").
set(CVTPM_PACKAGE_MAINTAINER "cvtpm maintainers <cvtpm-maintainers@example.org>" CACHE STRING
    "Maintainer of the package (name <address>)")

# The changelog of a native Debian package (version without a Debian revision) is
# share/doc/<package>/changelog.gz (Debian Policy 12.7), in debian/changelog's format.
# string(TIMESTAMP) takes SOURCE_DATE_EPOCH from the environment only.
set(_environment_date "$ENV{SOURCE_DATE_EPOCH}")
set(ENV{SOURCE_DATE_EPOCH} "${CVTPM_SOURCE_DATE_EPOCH}")
string(TIMESTAMP _changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(ENV{SOURCE_DATE_EPOCH} "${_environment_date}")
set(CVTPM_CHANGELOG_DATE "${_changelog_date}")
configure_file("${_packaging}/changelog.in" "${_generated}/changelog" @ONLY)
add_custom_command(
  OUTPUT "${_generated}/changelog.gz"
  COMMAND sh -c "gzip -9 -n -c changelog > changelog.gz.tmp && mv changelog.gz.tmp changelog.gz"
  WORKING_DIRECTORY "${_generated}"
  DEPENDS "${_generated}/changelog"
  VERBATIM)
add_custom_target(changelog ALL DEPENDS "${_generated}/changelog.gz")
install(FILES "${_generated}/changelog.gz" DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# Tags lintian reports for what this package is on purpose (static tools, the firmware image),
# each with its reason (packaging/lintian-overrides).
install(FILES "${_packaging}/lintian-overrides" DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides"
        RENAME cvtpm)
