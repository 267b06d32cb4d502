# Run by cpack after it wrote the .deb (CPACK_POST_BUILD_SCRIPTS, cmake/CvtpmPackage.cmake).
# A .deb is an ar archive (deb(5)); CPack gives its three members (debian-binary, control.tar.gz,
# data.tar.xz) the mode of the files it wrote for them, which follows the umask, so the same
# tree packaged under umask 022 and 077 differs in those header bytes. dpkg-deb writes 100644;
# this rewrites each member's mode field to that. An ar header (struct ar_hdr, glibc's <ar.h>)
# is 60 ASCII bytes: the mode in octal at bytes 40-47, the member's size at bytes 48-57; members
# are padded to an even size.
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  file(SIZE "${deb}" size)
  file(READ "${deb}" magic LIMIT 8)
  if(NOT magic STREQUAL "!<arch>\n")
    message(FATAL_ERROR "${deb}: not an ar archive")
  endif()
  set(offset 8)
  while(offset LESS size)
    file(READ "${deb}" header OFFSET ${offset} LIMIT 60)
    string(SUBSTRING "${header}" 48 10 member_size)
    string(STRIP "${member_size}" member_size)
    if(NOT member_size MATCHES "^[0-9]+$")
      message(FATAL_ERROR "${deb}: bad ar member header at byte ${offset}")
    endif()
    math(EXPR mode_offset "${offset} + 40")
    execute_process(
      COMMAND sh -c "printf '100644  ' | dd of=\"$1\" bs=1 seek=\"$2\" conv=notrunc status=none"
              sh "${deb}" "${mode_offset}"
      RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "${deb}: cannot rewrite the ar member mode at byte ${mode_offset}")
    endif()
    math(EXPR offset "${offset} + 60 + ${member_size} + ${member_size} % 2")
  endwhile()
endforeach()
