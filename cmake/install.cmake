# cmake --install: include/runllm.h, librunllm.a, librunllm.so, run-llm, the CMake
# package (find_package(runllm) -> runllm::runllm) and runllm.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# What librunllm.a needs from the system, as pkg-config module names.
set(RLLM_PC_REQUIRES "libpcre2-8")
if(TARGET PkgConfig::CPUINFO)  # x86 only: aarch64 reads HWCAP
  string(PREPEND RLLM_PC_REQUIRES "libcpuinfo ")
endif()
get_target_property(rllm_engine_links rllm_engine INTERFACE_LINK_LIBRARIES)
if("PkgConfig::ICU" IN_LIST rllm_engine_links)
  string(APPEND RLLM_PC_REQUIRES " icu-uc")
endif()

install(FILES ${PROJECT_SOURCE_DIR}/include/runllm.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS runllm runllm_shared
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS run-llm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(rllm_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/runllm)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/runllm-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/runllm-config.cmake
  INSTALL_DESTINATION ${rllm_cmake_dir}
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/runllm-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/runllm-config.cmake ${CMAKE_CURRENT_BINARY_DIR}/runllm-config-version.cmake
  DESTINATION ${rllm_cmake_dir})

# The .pc file finds its prefix from its own place, so the tree can move.
file(RELATIVE_PATH RLLM_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/runllm.pc.in ${CMAKE_CURRENT_BINARY_DIR}/runllm.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/runllm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
