# Run by cpack after it installed the package's files into its staging directory and before it
# archives them (CPACK_PRE_BUILD_SCRIPTS, cmake/CvtpmPackage.cmake). Install rules give files
# explicit modes, but the directories they create get 0777 less the umask (CMake creates them
# with mkdir(2), which applies it, whatever CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS says):
# every staged directory becomes 0755, so the package does not depend on the umask.
file(GLOB_RECURSE staged LIST_DIRECTORIES true "${CPACK_TEMPORARY_DIRECTORY}/*")
foreach(path IN LISTS staged)
  if(IS_DIRECTORY "${path}" AND NOT IS_SYMLINK "${path}")
    file(CHMOD "${path}" DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
         GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endif()
endforeach()
