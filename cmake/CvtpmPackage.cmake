# The Debian package, built by CPack's DEB generator from the install rules:
#
#   cmake --preset release && cmake --build --preset release --target package
#   -> build-release/package/cvtpm_<version>_amd64.deb
#
# Reproducible (docs/install.md, "Reproducible"): every file time in the package is
# SOURCE_DATE_EPOCH (CvtpmSourceDate.cmake), CPack writes entries in sorted order with root
# ownership, directories are 0755 and the archive's members 0644 whatever the umask, the
# compressed parts carry no time stamp, and the tools are stripped.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cvtpm)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/package")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# What users run are the stripped tools (Debian Policy 10.1); the firmware is installed as files
# and keeps its symbols (cvtpm-fw-stripped.elf beside it is the stripped copy).
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # cvtpm_<version>_<architecture>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CVTPM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Run-time needs, nothing else (docs/install.md, "Depends"): cvtpm-launch starts
# qemu-system-x86_64 (run, emulate), emulate --smoke runs tpm2-tools (whose swtpm TCTI comes with
# them), emulate --guest boots Debian's OVMF. The tools are static: no shared-library
# dependencies to compute.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qemu-system-x86, ovmf, tpm2-tools")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Confidential vTPM for AMD SEV-SNP guests")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "cvtpm runs a TPM 2.0 (libtpms) inside an SEV-SNP guest's trust boundary, in a
small firmware at VMPL0 (an SVSM). This package holds that firmware and the
host tools: cvtpm-igvmgen builds a reproducible IGVM image of the firmware and
OVMF, cvtpm-measure computes SEV-SNP launch digests and ID blocks,
cvtpm-launch checks a host and launches the image, or emulates the firmware
under QEMU TCG, cvtpm-verify checks attestation reports and the binding of the
vTPM's endorsement key, cvtpm-tpm-bridge and cvtpm-vtpmd serve the vTPM to
tpm2-tools.")

# CPack's own process: SOURCE_DATE_EPOCH for the archives' file times and compressed headers.
configure_file("${PROJECT_SOURCE_DIR}/packaging/cpack_project_config.cmake.in"
               "${CMAKE_BINARY_DIR}/packaging/cpack_project_config.cmake" @ONLY)
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_BINARY_DIR}/packaging/cpack_project_config.cmake")
# What CPack takes from the umask: the staged directories' modes and the ar members' modes.
set(CPACK_PRE_BUILD_SCRIPTS "${PROJECT_SOURCE_DIR}/packaging/cpack_staged_modes.cmake")
set(CPACK_POST_BUILD_SCRIPTS "${PROJECT_SOURCE_DIR}/packaging/cpack_ar_modes.cmake")

include(CPack)
