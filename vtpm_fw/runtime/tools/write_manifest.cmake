# Writes cvtpm-fw.manifest.json: what determines the firmware's bytes (and so the SNP launch
# digest of an image that contains it) — the Debian package versions of the archives it links,
# their SHA-256, the compiler, and the SHA-256 of the ELF and its stripped copy. No timestamps,
# no host paths. Called by the cvtpm-fw POST_BUILD step:
#   cmake -DELF= -DSTRIPPED= -DOUTPUT= -DLIBTPMS= -DLIBCRYPTO= -DCOMPILER= -DVERSION= -P write_manifest.cmake
foreach(var ELF STRIPPED OUTPUT LIBTPMS LIBCRYPTO COMPILER VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "write_manifest.cmake: -D${var}= missing")
  endif()
endforeach()

function(dpkg_version package out)
  execute_process(COMMAND dpkg-query -W "-f=\${Version}" ${package}
                  OUTPUT_VARIABLE version RESULT_VARIABLE status ERROR_QUIET)
  if(NOT status EQUAL 0 OR version STREQUAL "")
    message(FATAL_ERROR "write_manifest.cmake: dpkg-query found no version of ${package}; "
                        "the firmware must be built against Debian's packages")
  endif()
  set(${out} "${version}" PARENT_SCOPE)
endfunction()

dpkg_version(libtpms-dev libtpms_dev)
dpkg_version(libtpms0 libtpms0)
dpkg_version(libssl-dev libssl_dev)
file(SHA256 "${LIBTPMS}" libtpms_sha256)
file(SHA256 "${LIBCRYPTO}" libcrypto_sha256)
file(SHA256 "${ELF}" elf_sha256)
file(SHA256 "${STRIPPED}" stripped_sha256)
file(SIZE "${STRIPPED}" stripped_size)
get_filename_component(elf_name "${ELF}" NAME)
get_filename_component(stripped_name "${STRIPPED}" NAME)

file(WRITE "${OUTPUT}.tmp" "{
  \"firmware\": \"cvtpm-fw\",
  \"version\": \"${VERSION}\",
  \"elf\": { \"file\": \"${elf_name}\", \"sha256\": \"${elf_sha256}\" },
  \"stripped\": { \"file\": \"${stripped_name}\", \"sha256\": \"${stripped_sha256}\", \"bytes\": ${stripped_size} },
  \"compiler\": \"${COMPILER}\",
  \"packages\": {
    \"libtpms-dev\": \"${libtpms_dev}\",
    \"libtpms0\": \"${libtpms0}\",
    \"libssl-dev\": \"${libssl_dev}\"
  },
  \"archives\": {
    \"libtpms.a\": \"${libtpms_sha256}\",
    \"libcrypto.a\": \"${libcrypto_sha256}\"
  }
}
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
